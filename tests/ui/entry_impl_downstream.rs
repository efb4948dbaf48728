// `Entry` is sealed: a downstream type cannot make itself a third kind of entry.
use tenure::Entry;

struct HttpClient;

impl Entry for HttpClient {
    type Handle = ();
    const CLOSES_ON_RETIRE: bool = false;
}

fn main() {}
