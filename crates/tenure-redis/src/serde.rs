//! Loading a [`RedisConfig`] from configuration files (feature `serde`).
//!
//! The file form is read by hand-written visitors: a value of the wrong type, an
//! unknown setting or a list where a map belongs is refused naming the setting
//! and the expected type, never quoting the value (serde's derived visitors
//! would quote it, and a `url` or a password may be in it).

use std::{fmt, time::Duration};

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use tenure_pool::duration_text::DurationText;

use crate::{Error, RedisConfig, error::is_plain_identifier};

/// The settings of the file form and their types.
const FIELDS: &[(&str, Kind)] = &[
    ("url", Kind::Text),
    ("cluster_nodes", Kind::List),
    ("sentinels", Kind::List),
    ("service_name", Kind::Text),
    ("username", Kind::Text),
    ("password", Kind::Text),
    ("sentinel_username", Kind::Text),
    ("sentinel_password", Kind::Text),
    ("database", Kind::Int),
    ("max_connections", Kind::Int),
    ("connect_timeout", Kind::Text),
    ("response_timeout", Kind::Text),
    ("wait_timeout", Kind::Text),
    ("root_certificates_pem", Kind::List),
];

/// Loads a configuration from its file form; see [`RedisConfig`]'s section
/// "From a file".
impl<'de> Deserialize<'de> for RedisConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Settings {
            what: "a Redis configuration",
            fields: FIELDS,
        }
        .deserialize(deserializer)?;
        let file = RedisConfigFile::from_values(values)?;
        RedisConfig::try_from(file).map_err(de::Error::custom)
    }
}

/// The file form of a [`RedisConfig`]: exactly one of `url`, `cluster_nodes` or
/// `sentinels` (with `service_name`), plus optional settings; timeouts as text
/// (`"250ms"`, `"10s"`), as in tenure-http's file form. Unknown fields are refused.
#[derive(Default)]
struct RedisConfigFile {
    url: Option<String>,
    cluster_nodes: Option<Vec<String>>,
    sentinels: Option<Vec<String>>,
    service_name: Option<String>,
    username: Option<String>,
    password: Option<String>,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
    database: Option<i64>,
    max_connections: Option<usize>,
    connect_timeout: Option<Duration>,
    response_timeout: Option<Duration>,
    wait_timeout: Option<Duration>,
    root_certificates_pem: Vec<String>,
}

impl RedisConfigFile {
    /// The settings read by [`Settings`], typed; the errors name the setting and
    /// never quote its value.
    fn from_values<E: de::Error>(values: Vec<(&'static str, Value)>) -> Result<Self, E> {
        let mut file = Self::default();
        for (name, value) in values {
            let field = FIELDS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|&(name, kind)| Field::new(name, kind))
                .ok_or_else(|| E::custom("unknown setting"))?;
            let text = |value| match value {
                Value::Text(text) => Ok(text),
                _ => Err(field.wrong::<E>("another type")),
            };
            match (name, value) {
                (_, Value::Absent) => {}
                ("url", v) => file.url = Some(text(v)?),
                ("service_name", v) => file.service_name = Some(text(v)?),
                ("username", v) => file.username = Some(text(v)?),
                ("password", v) => file.password = Some(text(v)?),
                ("sentinel_username", v) => file.sentinel_username = Some(text(v)?),
                ("sentinel_password", v) => file.sentinel_password = Some(text(v)?),
                ("connect_timeout", v) => file.connect_timeout = Some(duration(name, &text(v)?)?),
                ("response_timeout", v) => file.response_timeout = Some(duration(name, &text(v)?)?),
                ("wait_timeout", v) => file.wait_timeout = Some(duration(name, &text(v)?)?),
                ("cluster_nodes", Value::List(list)) => file.cluster_nodes = Some(list),
                ("sentinels", Value::List(list)) => file.sentinels = Some(list),
                ("root_certificates_pem", Value::List(list)) => file.root_certificates_pem = list,
                ("database", Value::Int(n)) => {
                    // A negative index is the builder's error, which names it.
                    file.database =
                        Some(i64::try_from(n).map_err(|_| {
                            E::custom("`database`: the number is out of range (the value is not shown)")
                        })?);
                }
                ("max_connections", Value::Int(n)) => {
                    // Too large is the builder's error, which names the bound.
                    file.max_connections = Some(usize::try_from(n).map_err(|_| {
                        E::custom(format_args!(
                            "`max_connections`: expected a whole number from 1 to {} (the value is not shown)",
                            RedisConfig::MAX_MAX_CONNECTIONS
                        ))
                    })?);
                }
                _ => return Err(field.wrong("another type")),
            }
        }
        Ok(file)
    }
}

impl TryFrom<RedisConfigFile> for RedisConfig {
    type Error = Error;

    fn try_from(file: RedisConfigFile) -> Result<Self, Error> {
        let mut builder = match (file.url, file.cluster_nodes, file.sentinels) {
            (Some(url), None, None) => {
                if file.service_name.is_some() {
                    return Err(Error::invalid_source(
                        "`service_name` goes with `sentinels`; a `redis+sentinel://` URL names its service",
                    ));
                }
                RedisConfig::builder(&url)
            }
            (None, Some(nodes), None) => {
                if file.service_name.is_some() {
                    return Err(Error::invalid_source(
                        "`service_name` goes with `sentinels`, not `cluster_nodes`",
                    ));
                }
                RedisConfig::cluster_builder(nodes)
            }
            (None, None, Some(sentinels)) => {
                RedisConfig::sentinel_builder(sentinels, file.service_name.as_deref().unwrap_or_default())
            }
            (None, None, None) => {
                return Err(Error::invalid_source(
                    "one of `url`, `cluster_nodes` or `sentinels` is needed",
                ));
            }
            _ => {
                return Err(Error::invalid_source(
                    "only one of `url`, `cluster_nodes` and `sentinels` may be set",
                ));
            }
        };
        if let Some(username) = file.username {
            builder = builder.username(username);
        }
        if let Some(password) = file.password {
            builder = builder.password(password);
        }
        if let Some(username) = file.sentinel_username {
            builder = builder.sentinel_username(username);
        }
        if let Some(password) = file.sentinel_password {
            builder = builder.sentinel_password(password);
        }
        if let Some(database) = file.database {
            builder = builder.database(database);
        }
        if let Some(max) = file.max_connections {
            builder = builder.max_connections(max);
        }
        if let Some(timeout) = file.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = file.response_timeout {
            builder = builder.response_timeout(timeout);
        }
        if let Some(timeout) = file.wait_timeout {
            builder = builder.wait_timeout(timeout);
        }
        if !file.root_certificates_pem.is_empty() {
            #[cfg(feature = "rustls")]
            for pem in file.root_certificates_pem {
                builder = builder.add_root_certificate_pem(pem);
            }
            #[cfg(not(feature = "rustls"))]
            return Err(Error::invalid_source(
                "`root_certificates_pem` needs the `rustls` feature",
            ));
        }
        builder.build()
    }
}

// ---------------------------------------------------------------------------
// Reading the file form without ever quoting it.
//
// serde's derived and default visitors describe a value of the wrong type by
// quoting it (`invalid type: string "redis://:pw@h", expected ...`), and so do
// format crates asked for a specific type (`deserialize_string` on a number). So
// every value here is read with `deserialize_any` by visitors that accept every
// type and refuse the wrong ones with a message naming the field and the expected
// type, never the value.
// ---------------------------------------------------------------------------

/// The type a setting of the file form holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    List,
    Int,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::List => "a list of strings",
            Kind::Int => "a whole number",
        }
    }
}

/// A setting's value as read, before it goes to the builder.
enum Value {
    /// `null` (or an absent option): the builder's default.
    Absent,
    Text(String),
    List(Vec<String>),
    Int(i128),
}

/// Which part of a setting is read: the whole value, or an item of a list or map.
#[derive(Clone, Copy)]
enum Part {
    Whole,
    Element(usize),
}

/// Reads one setting (or a part of it) as a `kind`: a value of another type is
/// refused naming the setting and the expected type, never quoting the value.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    kind: Kind,
    part: Part,
}

impl Field {
    fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            part: Part::Whole,
        }
    }

    fn item(self, part: Part) -> Self {
        Self {
            kind: Kind::Text,
            part,
            ..self
        }
    }

    /// `found` is the type of the value met: "a number", "a list", ...
    fn wrong<E: de::Error>(self, found: &str) -> E {
        let expected = self.kind.expected();
        let name = self.name;
        match self.part {
            Part::Whole => E::custom(format_args!(
                "`{name}`: expected {expected}, found {found} (the value is not shown)"
            )),
            Part::Element(index) => E::custom(format_args!(
                "`{name}` item #{index}: expected {expected}, found {found} (the value is not shown)"
            )),
        }
    }

    fn text<E: de::Error>(self, value: Value) -> Result<String, E> {
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
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Value, E> {
        Err(self.wrong("a boolean"))
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
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Value, E> {
        Err(self.wrong(if self.kind == Kind::Int {
            "a number with a fraction"
        } else {
            "a number"
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
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Value, A::Error> {
        Err(self.wrong("a map"))
    }
    fn visit_enum<A: EnumAccess<'de>>(self, _data: A) -> Result<Value, A::Error> {
        Err(self.wrong("an enum variant"))
    }
}

/// Reads the whole file form: a map of the settings in `fields`, each at most
/// once. Anything else (a string, a list, ...) is refused without quoting it; an
/// unknown setting is named only if its name is a plain identifier.
struct Settings {
    /// What is read, for messages: "a Redis configuration".
    what: &'static str,
    fields: &'static [(&'static str, Kind)],
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
    type Value = Vec<(&'static str, Value)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Settings {
    type Value = Vec<(&'static str, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a map of settings", self.what)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values: Vec<(&'static str, Value)> = Vec::new();
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
            if values.iter().any(|(seen, _)| *seen == name) {
                return Err(de::Error::custom(format_args!(
                    "{}: `{name}` is given more than once",
                    self.what
                )));
            }
            let value = map.next_value_seed(Field::new(name, kind))?;
            values.push((name, value));
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
fn duration<E: de::Error>(name: &str, text: &str) -> Result<Duration, E> {
    use serde::de::IntoDeserializer as _;
    let deserializer: de::value::StrDeserializer<'_, de::value::Error> = text.into_deserializer();
    DurationText::deserialize(deserializer).map(|d| d.0).map_err(|_| {
        E::custom(format_args!(
            "`{name}`: invalid duration: write a whole number and a unit (ms, s, m or h), as in \"10s\" \
             (the value is not shown)"
        ))
    })
}
