//! CloudFormation custom-resource responses.
//!
//! On AWS a custom resource's function answers by `PUT`ting a JSON document to the pre-signed S3
//! URL in the event's `ResponseURL`. Locally that URL points at the edge
//! (`PUT /_localcloud/cfn-response/{request_id}`), which hands the document to the provisioner
//! waiting for it here.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::oneshot;

/// Waiters for custom-resource responses, keyed by the event's `RequestId`.
#[derive(Default)]
pub struct CfnResponses {
    waiting: Mutex<HashMap<String, oneshot::Sender<Value>>>,
}

impl CfnResponses {
    /// Registers interest in the response to `request_id`; await the receiver for the document.
    pub fn expect(&self, request_id: &str) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(request_id.to_owned(), tx);
        rx
    }

    /// Delivers a response document; returns false when nobody waits for `request_id`.
    pub fn deliver(&self, request_id: &str, document: Value) -> bool {
        match self.lock().remove(request_id) {
            Some(tx) => tx.send(document).is_ok(),
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Value>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
