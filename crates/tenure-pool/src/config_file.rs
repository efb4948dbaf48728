//! Reading the adapters' configuration files without ever quoting a value.
//! Not part of the API: the adapters' `serde` features use it so that their
//! files are read, and refused, alike.
//!
//! serde's derived and default visitors describe a value of the wrong type by
//! quoting it (`invalid type: string "redis://:pw@h", expected ...`), and so do
//! format crates asked for a specific type (`deserialize_string` on a number).
//! So every value here is read with `deserialize_any` by visitors that accept
//! every type and refuse the wrong ones with a message naming the setting and
//! the expected type, never the value. [`is_plain_identifier`], the test for a
//! name that is safe to echo, is there with or without the feature.

/// Whether `name` is safe to echo: `[A-Za-z_][A-Za-z0-9_]{0,31}`, the shape of a
/// setting's name, never of a secret pasted in the wrong place.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 32
}

#[cfg(feature = "serde")]
pub use file::{Field, Kind, Settings, Value, duration};

#[cfg(feature = "serde")]
mod file {
    use std::{fmt, time::Duration};

    use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

    use super::is_plain_identifier;

    /// The type a setting of the file form holds.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Kind {
        /// A string.
        Text,
        /// A list of strings.
        List,
        /// A whole number.
        Int,
        /// `true` or `false`.
        Bool,
        /// A map of strings to strings.
        Map,
    }

    impl Kind {
        /// How messages name the type: "a string", ...
        pub fn expected(self) -> &'static str {
            match self {
                Kind::Text => "a string",
                Kind::List => "a list of strings",
                Kind::Int => "a whole number",
                Kind::Bool => "true or false",
                Kind::Map => "a map of strings",
            }
        }
    }

    /// A setting's value as read, before it goes to the builder.
    #[derive(Debug)]
    pub enum Value {
        /// `null` (or an absent option): the builder's default.
        Absent,
        /// [`Kind::Text`].
        Text(String),
        /// [`Kind::List`].
        List(Vec<String>),
        /// [`Kind::Int`].
        Int(i128),
        /// [`Kind::Bool`].
        Bool(bool),
        /// [`Kind::Map`], in the file's order.
        Map(Vec<(String, String)>),
    }

    /// Which part of a setting is read: the whole value, or an item of a list or map.
    #[derive(Clone, Copy, Debug)]
    enum Part {
        Whole,
        Element(usize),
        Key,
        MapValue,
    }

    /// Reads one setting (or a part of it) as a `kind`: a value of another type is
    /// refused naming the setting and the expected type, never quoting the value.
    #[derive(Clone, Copy, Debug)]
    pub struct Field {
        name: &'static str,
        kind: Kind,
        part: Part,
    }

    impl Field {
        /// Reads the setting `name` as a `kind`.
        pub fn new(name: &'static str, kind: Kind) -> Self {
            Self {
                name,
                kind,
                part: Part::Whole,
            }
        }

        /// The setting's name.
        pub fn name(self) -> &'static str {
            self.name
        }

        fn item(self, part: Part) -> Self {
            Self {
                kind: Kind::Text,
                part,
                ..self
            }
        }

        /// The error for a value of another type; `found` is the type of the value
        /// met: "a number", "a list", ...
        pub fn wrong<E: de::Error>(self, found: &str) -> E {
            let expected = self.kind.expected();
            let name = self.name;
            match self.part {
                Part::Whole => E::custom(format_args!(
                    "`{name}`: expected {expected}, found {found} (the value is not shown)"
                )),
                Part::Element(index) => E::custom(format_args!(
                    "`{name}` item #{index}: expected {expected}, found {found} (the value is not shown)"
                )),
                Part::Key => E::custom(format_args!(
                    "`{name}`: a name: expected {expected}, found {found} (the value is not shown)"
                )),
                Part::MapValue => E::custom(format_args!(
                    "`{name}`: a value: expected {expected}, found {found} (the value is not shown)"
                )),
            }
        }

        /// `value` as text, or the error naming this setting.
        pub fn text<E: de::Error>(self, value: Value) -> Result<String, E> {
            match value {
                Value::Text(text) => Ok(text),
                _ => Err(self.wrong("another type")),
            }
        }
    }

    impl<'de> DeserializeSeed<'de> for Field {
        type Value = Value;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Field {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.kind.expected())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
            match self.kind {
                Kind::Bool => Ok(Value::Bool(v)),
                _ => Err(self.wrong("a boolean")),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
            self.visit_i128(i128::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
            self.visit_i128(i128::from(v))
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
            match self.kind {
                Kind::Int => Ok(Value::Int(v)),
                _ => Err(self.wrong("a number")),
            }
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
            // Beyond `i128` is out of range for every setting anyway.
            self.visit_i128(i128::try_from(v).unwrap_or(i128::MAX))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
            if self.kind != Kind::Int {
                return Err(self.wrong("a number"));
            }
            // Formats hand over a whole number beyond `u64` as a float
            // (serde_json does): it is out of range, which the setting's own
            // check says with its bound (`as` saturates at `i128`'s ends).
            const BEYOND_64_BITS: f64 = 18_446_744_073_709_551_616.0; // 2^64
            if v.is_finite() && v.fract() == 0.0 && v.abs() >= BEYOND_64_BITS / 2.0 {
                #[allow(clippy::cast_possible_truncation)]
                return self.visit_i128(v as i128);
            }
            Err(self.wrong(if !v.is_finite() {
                "a number that is not finite"
            } else if v.fract() == 0.0 {
                "a number with a decimal point"
            } else {
                "a number with a fraction"
            }))
        }
        fn visit_char<E: de::Error>(self, v: char) -> Result<Value, E> {
            self.visit_string(v.to_string())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
            self.visit_string(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
            match self.kind {
                Kind::Text => Ok(Value::Text(v)),
                _ => Err(self.wrong("a string")),
            }
        }
        fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<Value, E> {
            Err(self.wrong("bytes"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Value, E> {
            match self.part {
                Part::Whole => Ok(Value::Absent),
                _ => Err(self.wrong("null")),
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
            self.visit_none()
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(self)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            if self.kind != Kind::List {
                return Err(self.wrong("a list"));
            }
            let mut items = Vec::new();
            loop {
                let item = self.item(Part::Element(items.len()));
                match seq.next_element_seed(item)? {
                    Some(value) => items.push(item.text(value)?),
                    None => return Ok(Value::List(items)),
                }
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            if self.kind != Kind::Map {
                return Err(self.wrong("a map"));
            }
            let mut entries = Vec::new();
            let (key, value) = (self.item(Part::Key), self.item(Part::MapValue));
            while let Some(name) = map.next_key_seed(key)? {
                let name = key.text(name)?;
                let text = value.text(map.next_value_seed(value)?)?;
                entries.push((name, text));
            }
            Ok(Value::Map(entries))
        }
        fn visit_enum<A: EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
            Err(self.wrong("an enum variant"))
        }
    }

    /// Reads the whole file form: a map of the settings in `fields`, each at most
    /// once. Anything else (a string, a list, ...) is refused without quoting it; an
    /// unknown setting is named only if its name is a plain identifier.
    #[derive(Debug)]
    pub struct Settings {
        /// What is read, for messages: "a Redis configuration".
        pub what: &'static str,
        /// Every setting's name and type.
        pub fields: &'static [(&'static str, Kind)],
    }

    impl Settings {
        fn wrong<E: de::Error>(&self, found: &str) -> E {
            E::custom(format_args!(
                "{}: expected a map of settings, found {found} (the value is not shown)",
                self.what
            ))
        }

        fn field_list(&self) -> String {
            let names: Vec<String> = self.fields.iter().map(|(name, _)| format!("`{name}`")).collect();
            names.join(", ")
        }
    }

    impl<'de> DeserializeSeed<'de> for Settings {
        type Value = Vec<(Field, Value)>;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Settings {
        type Value = Vec<(Field, Value)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}: a map of settings", self.what)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut values: Vec<(Field, Value)> = Vec::new();
            let key = Field {
                name: "(setting name)",
                kind: Kind::Text,
                part: Part::Whole,
            };
            while let Some(name) = map.next_key_seed(key)? {
                let name = match name {
                    Value::Text(name) => name,
                    _ => return Err(key.wrong("another type")),
                };
                let Some(&(name, kind)) = self.fields.iter().find(|(known, _)| *known == name) else {
                    return Err(if is_plain_identifier(&name) {
                        de::Error::custom(format_args!(
                            "{}: unknown setting `{name}`; expected one of {}",
                            self.what,
                            self.field_list()
                        ))
                    } else {
                        de::Error::custom(format_args!(
                            "{}: an unknown setting (its name is not shown); expected one of {}",
                            self.what,
                            self.field_list()
                        ))
                    });
                };
                if values.iter().any(|(seen, _)| seen.name == name) {
                    return Err(de::Error::custom(format_args!(
                        "{}: `{name}` is given more than once",
                        self.what
                    )));
                }
                let field = Field::new(name, kind);
                values.push((field, map.next_value_seed(field)?));
            }
            Ok(values)
        }
        fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
            Err(self.wrong("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_i128<E: de::Error>(self, _v: i128) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_u128<E: de::Error>(self, _v: u128) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_char<E: de::Error>(self, _v: char) -> Result<Self::Value, E> {
            Err(self.wrong("a string"))
        }
        fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
            Err(self.wrong("a string"))
        }
        fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<Self::Value, E> {
            Err(self.wrong("bytes"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.wrong("null"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.wrong("null"))
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
            Err(self.wrong("a list (settings are named, never positional)"))
        }
        fn visit_enum<A: EnumAccess<'de>>(self, _data: A) -> Result<Self::Value, A::Error> {
            Err(self.wrong("an enum variant"))
        }
    }

    /// A duration as text (`"250ms"`, `"10s"`, `"5m"`, `"1h"`), read as every tenure
    /// adapter reads it; the error names the setting, never the text.
    pub fn duration<E: de::Error>(name: &str, text: &str) -> Result<Duration, E> {
        crate::duration_text::parse(text).map_err(|why| {
            E::custom(format_args!(
                "`{name}`: invalid duration: {why} (the value is not shown)"
            ))
        })
    }
}
