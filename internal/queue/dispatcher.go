package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgeagent/edgeagent/internal/clock"
	"github.com/edgeagent/edgeagent/internal/store"
)

// Pending is an item handed to the sender.
type Pending struct {
	ID       int64
	Kind     string
	Stream   string
	Key      string
	Payload  []byte
	Attempts int
}

// Class says what to do after a failure.
type Class int

// Failure classes.
const (
	// Temporary: network errors, 408, 429, 5xx. Retried with backoff.
	Temporary Class = iota
	// Auth: the token was refused. The whole sync pauses; no attempt is
	// spent.
	Auth
	// Again: retry at once without spending an attempt (e.g. a batch
	// refused because of another item in it).
	Again
	// Permanent: the cloud refused the item. It is parked for a person.
	Permanent
)

// Failure is why an item was not delivered.
type Failure struct {
	Class      Class
	RetryAfter time.Duration // server's advice for Temporary
	Message    string
}

// Outcome is what became of one item of a request.
type Outcome struct {
	Delivered bool // the cloud has it (also when it answered "already done" for the same fact)
	Failure   *Failure
}

// Sender delivers a batch of items of one kind (one request) and returns
// one outcome per item, in order.
type Sender interface {
	Send(ctx context.Context, kind string, items []Pending) []Outcome
}

// Config tunes the dispatcher.
type Config struct {
	Workers       int            // streams served at once (default 4)
	MaxBatch      map[string]int // items per request by kind (default DefaultBatch)
	DefaultBatch  int            // default 500
	BaseBackoff   time.Duration  // default 500ms
	MaxBackoff    time.Duration  // default 5m
	MaxRetryAfter time.Duration  // cap on the server's Retry-After (default 10m)
	AuthPause     time.Duration  // pause after a refused token (default 30s)
	Poll          time.Duration  // look for new work at least this often (default 1s)
	Retention     time.Duration  // keep delivered items this long (default 30 days)
	PurgeBatch    int            // delete at most this many delivered items at a time (default 500)
	PurgeEvery    time.Duration  // how often to look for items past retention (default 1m)
	// RecordWait is how long a batch whose answer is in waits for the
	// other batches being sent, so that their outcomes are recorded in
	// one transaction (default 10ms); see Dispatcher.record.
	RecordWait time.Duration

	// OnDelivered, if set, is called with the items the cloud took, inside
	// the transaction that marks them delivered, so that the state the
	// delivery settles (a serial now commissioned) is written with it or
	// not at all. It is called once per recorded batch, never with no
	// items, and must write through tx only (not through store.Write). An
	// error rolls the whole outcome back: the batch waits its backoff and
	// is sent again, and the cloud's "already done" delivers it then.
	OnDelivered func(tx *sql.Tx, items []Pending) error

	// Service names the service that items of a kind go to, where one
	// dispatcher serves several (the cloud, the shipping service, an EPCIS
	// repository): each one's reachability is kept apart, so that one down
	// is not reported as another. "" (and the default for every kind) is
	// the main service, the cloud.
	Service func(kind string) string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.DefaultBatch <= 0 {
		c.DefaultBatch = 500
	}
	def(&c.BaseBackoff, 500*time.Millisecond)
	def(&c.MaxBackoff, 5*time.Minute)
	def(&c.MaxRetryAfter, 10*time.Minute)
	def(&c.AuthPause, 30*time.Second)
	def(&c.Poll, time.Second)
	def(&c.Retention, 30*24*time.Hour)
	if c.PurgeBatch <= 0 {
		c.PurgeBatch = 500
	}
	def(&c.PurgeEvery, time.Minute)
	def(&c.RecordWait, 10*time.Millisecond)
	return c
}

// Dispatcher delivers the outbox: FIFO within a stream, streams in
// parallel, dependencies first, compatible items batched.
type Dispatcher struct {
	db     *store.DB
	sender Sender
	cfg    Config
	log    zerolog.Logger
	wake   chan struct{}

	mu          sync.Mutex
	pausedUntil time.Time
	lastSuccess time.Time
	// Each service's reachability (Config.Service): since when temporary
	// failures (the network, 5xx, 429) are all it answers, and the last
	// one's reason.
	reach     map[string]Reach
	delivered atomic.Uint64
	parked    atomic.Uint64

	// The batches being sent, and the outcomes in waiting to be recorded
	// with theirs (see record).
	recMu    sync.Mutex
	sending  int
	toRecord []*outcomeRecord
}

// NewDispatcher returns a dispatcher; Run drives it.
func NewDispatcher(db *store.DB, s Sender, cfg Config, log zerolog.Logger) *Dispatcher {
	return &Dispatcher{db: db, sender: s, cfg: cfg.withDefaults(), log: log, wake: make(chan struct{}, 1), reach: map[string]Reach{}}
}

// Totals returns how many items this dispatcher has recorded delivered and
// parked since it was made; an item counts once the transaction that
// records its outcome has committed. They are counters in memory: reading
// them touches no table, however long the outbox.
func (d *Dispatcher) Totals() (delivered, parked uint64) {
	return d.delivered.Load(), d.parked.Load()
}

// Notify tells the dispatcher new items were committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// batch is work for one request.
type batch struct {
	stream string
	kind   string
	items  []Pending
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := map[string]bool{}
	var busyMu sync.Mutex
	done := make(chan string, d.cfg.Workers)
	lastPurge := time.Time{}
	for ctx.Err() == nil {
		if wait := d.paused(); wait > 0 {
			if clock.Sleep(ctx, wait) != nil {
				break
			}
			continue
		}
		if time.Since(lastPurge) > d.cfg.PurgeEvery {
			d.purge(ctx)
			lastPurge = time.Now()
		}
		busyMu.Lock()
		free := d.cfg.Workers - len(busy)
		skip := make(map[string]bool, len(busy))
		for s := range busy {
			skip[s] = true
		}
		busyMu.Unlock()
		var started int
		var next time.Time
		if free > 0 {
			// Each batch is sent as soon as it is read, while the next
			// stream's is read. The batches of the round count as being
			// sent from now on, so that the first one answered waits for
			// the others to be recorded with them (see record).
			d.recMu.Lock()
			d.sending += free
			d.recMu.Unlock()
			var err error
			started, next, err = d.ready(ctx, free, skip, func(b batch) {
				busyMu.Lock()
				busy[b.stream] = true
				busyMu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					group := d.deliver(ctx, b)
					busyMu.Lock()
					delete(busy, b.stream)
					busyMu.Unlock()
					// The streams recorded together are free together:
					// the last of them wakes the loop, which finds them
					// all, and their next batches go out side by side.
					if group == nil || group.Add(-1) == 0 {
						select {
						case done <- b.stream:
						default:
						}
					}
				}()
			})
			d.leave(free - started)
			if err != nil && ctx.Err() == nil {
				d.log.Error().Err(err).Msg("read the outbox")
			}
		}
		if started > 0 && free > started {
			continue
		}
		wait := d.cfg.Poll
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

func (d *Dispatcher) paused() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Until(d.pausedUntil)
}

// ready finds up to n streams with deliverable work and starts a batch for
// each; it returns how many it started, and when the earliest postponed
// item comes due.
func (d *Dispatcher) ready(ctx context.Context, n int, skip map[string]bool, start func(batch)) (int, time.Time, error) {
	r := d.db.Reader()
	// The streams with pending items, by a loose scan of the index: one
	// seek per stream, however many items wait, and one more for the
	// stream's oldest pending item.
	rows, err := r.QueryContext(ctx, `WITH RECURSIVE s(stream) AS (
			SELECT (SELECT MIN(stream) FROM outbox WHERE state = 'pending')
			UNION ALL
			SELECT (SELECT MIN(stream) FROM outbox WHERE state = 'pending' AND stream > s.stream) FROM s WHERE s.stream IS NOT NULL
		) SELECT stream, (SELECT MIN(id) FROM outbox WHERE state = 'pending' AND stream = s.stream) FROM s WHERE stream IS NOT NULL`)
	if err != nil {
		return 0, time.Time{}, err
	}
	type head struct {
		stream string
		id     int64
	}
	var streams []head
	for rows.Next() {
		var h head
		if err := rows.Scan(&h.stream, &h.id); err != nil {
			rows.Close()
			return 0, time.Time{}, err
		}
		if !skip[h.stream] {
			streams = append(streams, h)
		}
	}
	rows.Close()
	// The streams whose oldest item waits longest go first, so that none
	// starves. Streams filled side by side (the packaging orders of a
	// line) then advance together, and the deliveries recorded in one
	// transaction change the same pages of the outbox, each written once.
	slices.SortFunc(streams, func(a, b head) int { return cmp.Compare(a.id, b.id) })
	started := 0
	var next time.Time
	now := nowMS()
	for _, h := range streams {
		if started == n {
			break
		}
		b, due, err := d.streamBatch(ctx, h.stream, now)
		if err != nil {
			return started, next, err
		}
		if b != nil {
			start(*b)
			started++
		} else if !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return started, next, nil
}

// streamBatch takes the stream's first pending items: the head, and the
// items after it of the same kind and batch key, due and not waiting for a
// dependency.
func (d *Dispatcher) streamBatch(ctx context.Context, stream string, now int64) (*batch, time.Time, error) {
	r := d.db.Reader()
	rows, err := r.QueryContext(ctx, `SELECT id, kind, key, batch_key, payload, attempts, next_at FROM outbox
		WHERE state = 'pending' AND stream = ? ORDER BY id LIMIT ?`, stream, d.maxBatchAll())
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	var b *batch
	var headBatchKey string
	limit := 0
	for rows.Next() {
		var p Pending
		var bk string
		var next int64
		if err := rows.Scan(&p.ID, &p.Kind, &p.Key, &bk, &p.Payload, &p.Attempts, &next); err != nil {
			return nil, time.Time{}, err
		}
		p.Stream = stream
		if b == nil {
			if next > now {
				return nil, time.UnixMilli(next), nil
			}
			b, headBatchKey, limit = &batch{stream: stream, kind: p.Kind}, bk, d.maxBatch(p.Kind)
		} else if p.Kind != b.kind || bk != headBatchKey || next > now || len(b.items) >= limit {
			break
		}
		b.items = append(b.items, p)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	rows.Close()
	if b == nil {
		return nil, time.Time{}, nil
	}
	// Cut the batch at the first item still waiting for a dependency.
	blocked, err := d.blocked(ctx, b.items)
	if err != nil {
		return nil, time.Time{}, err
	}
	for i, p := range b.items {
		if blocked[p.ID] {
			if i == 0 {
				return nil, time.Time{}, nil
			}
			b.items = b.items[:i]
			break
		}
	}
	return b, time.Time{}, nil
}

func (d *Dispatcher) maxBatch(kind string) int {
	if n, ok := d.cfg.MaxBatch[kind]; ok && n > 0 {
		return n
	}
	return d.cfg.DefaultBatch
}

func (d *Dispatcher) maxBatchAll() int {
	m := d.cfg.DefaultBatch
	for _, n := range d.cfg.MaxBatch {
		m = max(m, n)
	}
	return m
}

// blocked returns the items with a dependency not yet delivered.
func (d *Dispatcher) blocked(ctx context.Context, items []Pending) (map[int64]bool, error) {
	out := map[int64]bool{}
	// Most batches (commissions above all) depend on nothing: one seek in
	// the dependencies' key over the batch's ids says so, where the query
	// below parses a statement of hundreds of parameters and seeks once
	// for each.
	lo, hi := items[0].ID, items[0].ID
	for _, p := range items {
		lo, hi = min(lo, p.ID), max(hi, p.ID)
	}
	var some bool
	if err := d.db.Reader().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_deps WHERE item BETWEEN ? AND ?)`, lo, hi).Scan(&some); err != nil {
		return nil, err
	}
	if !some {
		return out, nil
	}
	for start := 0; start < len(items); start += 500 {
		part := items[start:min(start+500, len(items))]
		args := make([]any, len(part))
		for i, p := range part {
			args[i] = p.ID
		}
		q := `SELECT DISTINCT d.item FROM outbox_deps d JOIN outbox p ON p.id = d.depends_on
			WHERE d.item IN (` + strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `) AND p.state != 'delivered'`
		rows, err := d.db.Reader().QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		rows.Close()
	}
	return out, nil
}

// deliver sends one batch and records each outcome. It returns the count
// of the batches recorded with it still to finish, this one included; nil
// when it recorded nothing.
func (d *Dispatcher) deliver(ctx context.Context, b batch) *atomic.Int32 {
	outcomes := d.sender.Send(ctx, b.kind, b.items)
	if ctx.Err() != nil {
		d.record(nil) // stopping: the items stay pending and go again at start
		return nil
	}
	if len(outcomes) != len(b.items) {
		d.record(nil)
		d.log.Error().Str("kind", b.kind).Int("items", len(b.items)).Int("outcomes", len(outcomes)).Msg("sender gave the wrong number of outcomes")
		return nil
	}
	r := &outcomeRecord{b: b, outcomes: outcomes, now: nowMS(), done: make(chan struct{})}
	d.record(r)
	if r.err != nil {
		d.log.Error().Err(r.err).Str("stream", b.stream).Msg("record delivery outcome: the batch goes again later")
		d.postpone(ctx, b, r.err)
		return r.group
	}
	d.delivered.Add(uint64(r.deliveredN))
	d.parked.Add(uint64(r.parkedN))
	service := ""
	if d.cfg.Service != nil {
		service = d.cfg.Service(b.kind)
	}
	d.mu.Lock()
	switch reach := d.reach[service]; {
	case r.deliveredN > 0 || r.parkedN > 0:
		// The service answered: it is reachable.
		if r.deliveredN > 0 {
			d.lastSuccess = time.Now()
		}
		delete(d.reach, service)
	case r.tempFailure != "":
		if reach.FailingSince.IsZero() {
			reach.FailingSince = time.Now()
		}
		reach.LastFailure = r.tempFailure
		d.reach[service] = reach
	}
	d.mu.Unlock()
	if r.parkedN > 0 {
		d.log.Warn().Str("kind", b.kind).Str("stream", b.stream).Int("parked", r.parkedN).Msg("the cloud refused items: parked for a person")
	}
	if r.pauseAuth {
		d.mu.Lock()
		d.pausedUntil = time.Now().Add(d.cfg.AuthPause)
		d.mu.Unlock()
		d.log.Warn().Str("for", d.cfg.AuthPause.String()).Msg("the cloud refused the token: sync paused")
	}
	return r.group
}

// outcomeRecord is a sent batch's outcomes on their way to the outbox, and
// what recording them found.
type outcomeRecord struct {
	b        batch
	outcomes []Outcome
	now      int64 // unix ms of the answer

	deliveredN, parkedN int
	pauseAuth           bool
	tempFailure         string        // a temporary failure's reason, if any
	err                 error         // the record was not committed
	group               *atomic.Int32 // the batches recorded with it, left to finish
	done                chan struct{}
}

// record commits r's outcomes (nil: a batch that was sent leaves without
// one) and returns once they are committed or have failed. The outcomes
// of batches answered at about the same time are recorded in one
// transaction, each in a savepoint of its own: the streams advance side by
// side, so their deliveries change the same pages of the outbox and its
// indexes, which one commit then writes once, and one sync makes them all
// durable. A batch whose answer is in waits at most RecordWait for the
// batches still being sent; the last of them to be answered, or the first
// whose wait ends, records all that wait.
func (d *Dispatcher) record(r *outcomeRecord) {
	if r == nil {
		d.leave(1)
		return
	}
	d.recMu.Lock()
	d.sending--
	d.toRecord = append(d.toRecord, r)
	if d.sending > 0 {
		d.recMu.Unlock()
		t := time.NewTimer(d.cfg.RecordWait)
		select {
		case <-r.done:
			t.Stop()
			return
		case <-t.C:
		}
		d.recMu.Lock()
	}
	group := d.toRecord
	d.toRecord = nil
	d.recMu.Unlock()
	if len(group) > 0 {
		d.recordAll(group)
	}
	<-r.done // recorded by the group that took it
}

// leave counts k batches counted as being sent as no longer so, and when
// none is left records the outcomes that wait for them.
func (d *Dispatcher) leave(k int) {
	if k <= 0 {
		return
	}
	d.recMu.Lock()
	d.sending -= k
	var group []*outcomeRecord
	if d.sending == 0 {
		group, d.toRecord = d.toRecord, nil
	}
	d.recMu.Unlock()
	if len(group) > 0 {
		d.recordAll(group)
	}
}

// recordAll commits the outcomes of the batches in one transaction.
func (d *Dispatcher) recordAll(group []*outcomeRecord) {
	left := &atomic.Int32{}
	left.Store(int32(len(group)))
	for _, r := range group {
		r.group = left
	}
	defer func() {
		for _, r := range group {
			close(r.done)
		}
	}()
	err := d.db.Write(context.Background(), func(tx *sql.Tx) error {
		if len(group) == 1 {
			group[0].err = d.recordTx(tx, group[0])
			return group[0].err
		}
		for _, r := range group {
			if _, err := tx.Exec("SAVEPOINT outcome"); err != nil {
				return err
			}
			if r.err = d.recordTx(tx, r); r.err != nil {
				if _, err := tx.Exec("ROLLBACK TO outcome"); err != nil {
					return errors.Join(r.err, err)
				}
			}
			if _, err := tx.Exec("RELEASE outcome"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range group {
			if r.err == nil {
				r.err = err
			}
		}
	}
}

// recordTx writes one batch's outcomes in tx.
func (d *Dispatcher) recordTx(tx *sql.Tx, r *outcomeRecord) error {
	r.deliveredN, r.parkedN, r.pauseAuth, r.tempFailure = 0, 0, false, ""
	var delivered []any
	var deliveredItems []Pending
	retry := map[retryKey][]any{} // items failing alike are updated together
	for i, o := range r.outcomes {
		p := r.b.items[i]
		switch {
		case o.Delivered:
			delivered = append(delivered, p.ID)
			deliveredItems = append(deliveredItems, p)
		case o.Failure == nil:
			continue
		case o.Failure.Class == Auth:
			r.pauseAuth = true
		case o.Failure.Class == Again:
		case o.Failure.Class == Permanent:
			if _, err := tx.Exec(`UPDATE outbox SET state = 'parked', attempts = attempts + 1, last_error = ? WHERE id = ?`, o.Failure.Message, p.ID); err != nil {
				return err
			}
			r.parkedN++
		default:
			k := retryKey{attempts: p.Attempts, after: o.Failure.RetryAfter, msg: o.Failure.Message}
			retry[k] = append(retry[k], p.ID)
			r.tempFailure = o.Failure.Message
		}
	}
	for k, ids := range retry {
		at := r.now + d.backoff(k.attempts, k.after).Milliseconds()
		if err := inList(tx, `UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id IN `, []any{at, k.msg}, ids); err != nil {
			return err
		}
	}
	if err := inList(tx, `UPDATE outbox SET state = 'delivered', delivered_at = ? WHERE id IN `, []any{r.now}, delivered); err != nil {
		return err
	}
	if d.cfg.OnDelivered != nil && len(deliveredItems) > 0 {
		if err := d.cfg.OnDelivered(tx, deliveredItems); err != nil {
			return fmt.Errorf("after delivery: %w", err)
		}
	}
	r.deliveredN = len(delivered)
	return nil
}

// postpone puts a batch whose outcome could not be recorded back to wait
// its backoff, with the reason; sent again then, the cloud answers "already
// done" for what it has. If even that cannot be written, the stream is
// held for the wait instead, so that it is not sent again at once.
func (d *Dispatcher) postpone(ctx context.Context, b batch, cause error) {
	wait := d.backoff(b.items[0].Attempts, 0)
	ids := make([]any, len(b.items))
	for i, p := range b.items {
		ids[i] = p.ID
	}
	err := d.db.Write(context.WithoutCancel(ctx), func(tx *sql.Tx) error {
		return inList(tx, `UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE state = 'pending' AND id IN `,
			[]any{nowMS() + wait.Milliseconds(), "record the outcome: " + cause.Error()}, ids)
	})
	if err != nil {
		d.log.Error().Err(err).Str("stream", b.stream).Msg("postpone the batch")
		_ = clock.Sleep(ctx, wait)
	}
}

type retryKey struct {
	attempts int
	after    time.Duration
	msg      string
}

// inList runs q with "(?, …)" appended for ids, 500 at a time.
func inList(tx *sql.Tx, q string, args []any, ids []any) error {
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		full := q + `(` + strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `)`
		if _, err := tx.Exec(full, append(append([]any(nil), args...), part...)...); err != nil {
			return err
		}
	}
	return nil
}

// backoff is full jitter, rand(0, min(cap, base·2ⁿ)), at least the
// server's Retry-After (capped).
func (d *Dispatcher) backoff(attempts int, retryAfter time.Duration) time.Duration {
	ceil := d.cfg.MaxBackoff
	if attempts < 30 {
		ceil = min(ceil, d.cfg.BaseBackoff<<attempts)
	}
	wait := time.Duration(rand.Int64N(int64(ceil) + 1))
	return max(wait, min(retryAfter, d.cfg.MaxRetryAfter))
}

// purge deletes delivered items past their retention, a few at a time.
func (d *Dispatcher) purge(ctx context.Context) {
	cutoff := time.Now().Add(-d.cfg.Retention).UnixMilli()
	for ctx.Err() == nil {
		var n int64
		err := d.db.Write(ctx, func(tx *sql.Tx) error {
			res, err := tx.Exec(`DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'delivered' AND delivered_at < ? LIMIT ?)`,
				cutoff, d.cfg.PurgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				d.log.Warn().Err(err).Msg("purge delivered items")
			}
			return
		}
		if n < int64(d.cfg.PurgeBatch) {
			return
		}
	}
}
