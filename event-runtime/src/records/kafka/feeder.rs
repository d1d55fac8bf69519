//! The one thread that feeds the spool to librdkafka, in the order it was written, as
//! room returns in librdkafka's queue; and that keeps the spool tidy (deletes settled
//! segments, records acknowledged offsets, syncs write-ahead records on their interval).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::spool::Spool;
use super::{produce, Outcomes, Transport};
use crate::counters::Counters;

/// How often the feeder deletes settled segments and records acknowledged offsets.
const MAINTAIN_EVERY: Duration = Duration::from_millis(10);
/// How long the feeder waits for an append once it has caught up, with records still
/// waiting for their delivery reports (their segments to delete, their acks to record).
const IDLE_WAIT: Duration = Duration::from_millis(5);
/// How long it waits with an empty spool: an append or a stop wakes it at once, so this
/// only bounds how long a lost wake-up could go unnoticed.
const EMPTY_WAIT: Duration = Duration::from_millis(250);
/// How long the feeder waits for room when librdkafka's queue is full.
const FULL_WAIT: Duration = Duration::from_micros(200);

/// The running feeder thread.
pub(super) struct Feeder {
    spool: Arc<Spool>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Feeder {
    pub fn start(
        spool: Arc<Spool>,
        transport: Arc<Transport>,
        outcomes: Arc<Outcomes>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (spool, stop) = (Arc::clone(&spool), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("event-spool".into())
                .spawn(move || feed(&spool, &transport, &outcomes, &stop))?
        };
        Ok(Feeder {
            spool,
            stop,
            thread,
        })
    }

    /// Stops after the record being fed, and waits for the thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.spool.wake_feeder();
        let _ = self.thread.join();
    }
}

fn feed(spool: &Spool, transport: &Transport, outcomes: &Outcomes, stop: &AtomicBool) {
    let mut reader = super::spool::Reader::default();
    let mut maintained = Instant::now();
    let mut maintain = |force: bool| {
        if force || maintained.elapsed() >= MAINTAIN_EVERY {
            spool.maintain();
            maintained = Instant::now();
        }
    };
    while !stop.load(Ordering::Acquire) {
        let Some((record, position)) = spool.next(&mut reader) else {
            if !spool.caught_up(&mut reader) {
                maintain(false);
                let idle = if spool.is_empty() {
                    EMPTY_WAIT
                } else {
                    IDLE_WAIT
                };
                spool.wait_for_append(&reader, idle);
            }
            continue;
        };
        if position.replayed {
            Counters::add(&outcomes.counters.published, 1);
        }
        let ticket = spool.hand_over(position);
        loop {
            match transport.enqueue(&record.record(), ticket) {
                produce::Enqueued::Ok => break,
                produce::Enqueued::QueueFull => {
                    if stop.load(Ordering::Acquire) {
                        // Not handed over: it stays in the spool for the next start.
                        spool.keep(ticket);
                        return;
                    }
                    maintain(false);
                    std::thread::sleep(FULL_WAIT);
                }
                produce::Enqueued::Failed(code) => {
                    outcomes.refused(code, record.event_name);
                    spool.settle(ticket);
                    break;
                }
            }
        }
        maintain(false);
    }
    maintain(true);
}
