//! The auto traits the types promise, checked at compile time (a failure is a
//! build error of this test), plus the one runtime promise of `Shared`.

use std::{cell::Cell, sync::Arc};

use tenure_core::{Close, Closing, Lease, Owned, Shared};

struct Pool;

impl Close for Pool {
    async fn close(self, _: &Closing) {}
}

fn send_sync_static<T: Send + Sync + 'static>() {}
fn send_static<T: Send + 'static>() {}

#[test]
fn leases_and_shared_handles_move_into_spawned_tasks() {
    send_sync_static::<Lease<Pool>>();
    send_sync_static::<Shared<Pool>>();
    send_sync_static::<Owned<Pool>>();
}

/// A lease is a shared borrow that may cross threads, so it needs `T: Send + Sync`;
/// a `Send`-only `T` still makes an `Owned<T>` that can move between threads.
#[test]
fn a_send_only_resource_is_still_an_owned_value() {
    #[allow(dead_code)] // only its type is checked
    struct SendOnly(Cell<u32>);
    impl Close for SendOnly {
        async fn close(self, _: &Closing) {}
    }
    send_static::<Owned<SendOnly>>();
}

#[test]
fn shared_handles_are_cheap_clones_of_one_value() {
    let arc = Arc::new(Pool);
    let shared = Shared::from_arc(Arc::clone(&arc));
    let clone = shared.clone();
    assert!(Shared::ptr_eq(&shared, &clone));
    assert!(Arc::ptr_eq(Shared::as_arc(&clone), &arc));
    assert_eq!(Arc::strong_count(&arc), 3);
}
