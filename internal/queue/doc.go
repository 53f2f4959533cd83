// Package queue is the transactional outbox: every cloud-bound fact is
// enqueued in the same SQLite transaction as the state change it reports, and
// a dispatcher delivers it in causal order, batched, retried with backoff and
// parked for a person when the cloud refuses it.
package queue
