package store

import (
	"context"
	"database/sql/driver"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Stats counts what the writer runs, for tests and benchmarks that hold a
// hot path to a number of statements and a time: every statement SQLite
// runs for a write (BEGIN and COMMIT included) and, per write transaction,
// the time spent before its commit and in it. Set Config.Stats to count;
// without it the writer talks to the driver directly and nothing is
// counted or timed.
type Stats struct {
	statements, txs atomic.Int64
	work, commit    atomic.Int64 // nanoseconds
}

// StatsSnapshot is what Stats counted so far; subtract two to see what ran
// between them.
type StatsSnapshot struct {
	Statements   int64         // statements run, BEGIN and COMMIT (or ROLLBACK) included
	Transactions int64         // write transactions that reached COMMIT
	Work         time.Duration // from BEGIN to the start of COMMIT: the statements and the code between them
	Commit       time.Duration // in COMMIT: the durable part
}

// Snapshot reads the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{Statements: s.statements.Load(), Transactions: s.txs.Load(),
		Work: time.Duration(s.work.Load()), Commit: time.Duration(s.commit.Load())}
}

// Sub is what was counted since an earlier snapshot.
func (s StatsSnapshot) Sub(earlier StatsSnapshot) StatsSnapshot {
	return StatsSnapshot{Statements: s.Statements - earlier.Statements, Transactions: s.Transactions - earlier.Transactions,
		Work: s.Work - earlier.Work, Commit: s.Commit - earlier.Commit}
}

// countingConnector opens writer connections whose statements Stats counts.
type countingConnector struct {
	dsn   string
	stats *Stats
}

func (c *countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), stats: c.stats}, nil
}

func (c *countingConnector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// countingConn is the driver's connection with each statement counted. It
// offers the interfaces the driver's connection offers database/sql, so
// the statements run as they would without it.
type countingConn struct {
	*sqlite3.SQLiteConn
	stats *Stats
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.stats.statements.Add(1)
	tx, err := c.SQLiteConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, stats: c.stats}, nil
}

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.stats.statements.Add(1)
	return c.SQLiteConn.ExecContext(ctx, query, args)
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.stats.statements.Add(1)
	return c.SQLiteConn.QueryContext(ctx, query, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{SQLiteStmt: st.(*sqlite3.SQLiteStmt), stats: c.stats}, nil
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

type countingStmt struct {
	*sqlite3.SQLiteStmt
	stats *Stats
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.stats.statements.Add(1)
	return s.SQLiteStmt.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.stats.statements.Add(1)
	return s.SQLiteStmt.QueryContext(ctx, args)
}

type countingTx struct {
	driver.Tx
	stats *Stats
}

func (t *countingTx) Commit() error {
	t.stats.statements.Add(1)
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.stats.statements.Add(1)
	return t.Tx.Rollback()
}

// ended records a write transaction's time before its commit and in it.
func (s *Stats) ended(work, commit time.Duration) {
	s.txs.Add(1)
	s.work.Add(int64(work))
	s.commit.Add(int64(commit))
}
