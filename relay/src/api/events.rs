//! The server-sent event streams: `GET /v1/events` and `GET /v1/messages/{id}/events`.
//!
//! Each event is one [`EventView`] under the SSE event name `status`, its SSE `id` the
//! event number, which only grows. A client that reconnects with `Last-Event-ID` (browsers
//! do by themselves) first gets every kept event after that number, then the live ones, so
//! nothing is missed while it was away (as long as the log still holds it:
//! [`super::ApiLimits::event_log`]). A stream that falls behind the live feed reads the
//! missed events back from the store the same way. At most
//! [`super::ApiLimits::max_streams`] streams are open at once; past that the answer is
//! `too-many-streams` (503, `Retry-After`).

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use corridor_light_client::Hash32;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast;

use super::error::ApiError;
use super::handlers::readable;
use super::model::EventView;
use super::records::EventRecord;
use super::{Api, Principal};

/// Events read back from the store at once.
const REPLAY_BATCH: usize = 256;
/// Messages whose visibility one stream remembers.
const MAX_VISIBLE_CACHED: usize = 4096;

/// `GET /v1/events`.
pub(super) async fn all_events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = api.caller(&headers)?;
    let after = last_event_id(&headers)?;
    sse(api, principal, None, after)
}

/// `GET /v1/messages/{id}/events`.
pub(super) async fn message_events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = api.caller(&headers)?;
    let id = Hash32::from_hex(&id).map_err(|e| ApiError::InvalidQuery {
        field: "id".into(),
        detail: format!("is not 64 hex digits: {e}"),
    })?;
    readable(&api, &principal, &id)?;
    let after = last_event_id(&headers)?;
    sse(api, principal, Some(id), after)
}

fn last_event_id(headers: &HeaderMap) -> Result<u64, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(0);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::InvalidQuery {
            field: "Last-Event-ID".into(),
            detail: "is not an event number of this API".into(),
        })
}

struct Follow {
    api: Arc<Api>,
    principal: Principal,
    only: Option<Hash32>,
    live: broadcast::Receiver<EventRecord>,
    /// Highest event number sent (or skipped).
    last: u64,
    /// Events read back from the store, to send before the live ones.
    backlog: VecDeque<EventRecord>,
    /// Whether the backlog may still hold more (read again when it runs dry).
    replaying: bool,
    /// Whether the principal may read each message seen so far.
    visible: BTreeMap<Hash32, bool>,
    /// This stream's slot, given back when the client goes.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Follow {
    fn may_see(&mut self, id: &Hash32) -> bool {
        if self.only.is_some_and(|only| only != *id) {
            return false;
        }
        if let Some(v) = self.visible.get(id) {
            return *v;
        }
        if self.visible.len() >= MAX_VISIBLE_CACHED {
            // A long-lived stream over many messages: start the cache afresh.
            self.visible.clear();
        }
        let v = readable(&self.api, &self.principal, id).is_ok();
        self.visible.insert(*id, v);
        v
    }

    /// The next event to send; `None` when the feed closed.
    async fn next(&mut self) -> Option<EventRecord> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                if e.number <= self.last {
                    continue;
                }
                self.last = e.number;
                if self.may_see(&e.id) {
                    return Some(e);
                }
                continue;
            }
            if self.replaying {
                match self.api.records.events_after(self.last, REPLAY_BATCH) {
                    Ok(events) => {
                        self.replaying = events.len() == REPLAY_BATCH;
                        self.backlog.extend(events);
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "trader API: reading the event log failed");
                        self.replaying = false;
                    }
                }
            }
            match self.live.recv().await {
                Ok(e) => self.backlog.push_back(e),
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn sse(
    api: Arc<Api>,
    principal: Principal,
    only: Option<Hash32>,
    after: u64,
) -> Result<Response, ApiError> {
    let slot = api
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams(api.limits.max_streams))?;
    // Subscribe before reading the log, so nothing falls between the two.
    let live = api.feed.subscribe();
    let follow = Follow {
        api,
        principal,
        only,
        live,
        last: after,
        backlog: VecDeque::new(),
        replaying: true,
        visible: BTreeMap::new(),
        _slot: slot,
    };
    Ok(Sse::new(stream_of(follow))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn stream_of(follow: Follow) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(follow, |mut f| async move {
        let e = f.next().await?;
        let view = EventView {
            event: e.number,
            id: e.id,
            stage: e.stage,
            status: e.status,
            at: e.at.to_string(),
        };
        let event = Event::default()
            .id(view.event.to_string())
            .event("status")
            .json_data(&view)
            // An event view is plain data: it always serialises.
            .unwrap_or_default();
        Some((Ok(event), f))
    })
}
