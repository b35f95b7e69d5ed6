package sqlstore

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// db runs statements written with "?" placeholders, in the placeholders of
// the store's flavor: through database/sql (stdDB: SQLite, and the
// PostgreSQL migration runner), or natively through pgx (pgxDB: every
// PostgreSQL statement of the stores, measured 6–8 µs per read faster
// than pgx's database/sql driver; see docs/decisions.md).
type db interface {
	ExecContext(ctx context.Context, query string, args ...any) (result, error)
	QueryContext(ctx context.Context, query string, args ...any) (rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) scanner
}

// result is what a statement that returns no rows reports.
type result interface {
	RowsAffected() (int64, error)
}

// rows is the rows of a query, read with Next and Scan and closed once.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// execer is a *sql.DB, *sql.Conn or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stdDB runs statements through database/sql on a pool, connection or
// transaction.
type stdDB struct {
	x execer
	f *flavor
}

// ExecContext runs a statement that returns no rows.
func (d stdDB) ExecContext(ctx context.Context, query string, args ...any) (result, error) {
	return d.x.ExecContext(ctx, d.f.rebind(query), args...)
}

// QueryContext runs a query that returns rows.
func (d stdDB) QueryContext(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := d.x.QueryContext(ctx, d.f.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// QueryRowContext runs a query that returns at most one row.
func (d stdDB) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	return d.x.QueryRowContext(ctx, d.f.rebind(query), args...)
}

// pgxQuerier is a *pgxpool.Pool or a pgx.Tx.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgxDB runs statements natively through pgx on a pool or transaction.
type pgxDB struct {
	q pgxQuerier
	f *flavor
}

// ExecContext runs a statement that returns no rows.
func (d pgxDB) ExecContext(ctx context.Context, query string, args ...any) (result, error) {
	tag, err := d.q.Exec(ctx, d.f.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return tagResult(tag), nil
}

// QueryContext runs a query that returns rows.
func (d pgxDB) QueryContext(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := d.q.Query(ctx, d.f.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return pgxRows{r}, nil
}

// QueryRowContext runs a query that returns at most one row.
func (d pgxDB) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	return d.q.QueryRow(ctx, d.f.rebind(query), args...)
}

// tagResult is a pgx command tag as a result.
type tagResult pgconn.CommandTag

// RowsAffected implements result.
func (t tagResult) RowsAffected() (int64, error) {
	return pgconn.CommandTag(t).RowsAffected(), nil
}

// pgxRows is pgx.Rows as rows: Close returns the rows' error.
type pgxRows struct{ pgx.Rows }

// Close implements rows.
func (r pgxRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// prepareRow returns run, which runs query (a statement that returns one
// row) through tx with args, for a loop that runs it many times in one
// transaction: on SQLite a statement prepared once (database/sql would
// otherwise prepare it again for every call), on PostgreSQL through pgx,
// which caches prepared statements itself. done releases the statement.
func prepareRow(ctx context.Context, tx db, query string) (run func(args ...any) scanner, done func(), err error) {
	if d, ok := tx.(stdDB); ok {
		if sqlTx, ok := d.x.(*sql.Tx); ok {
			stmt, err := sqlTx.PrepareContext(ctx, d.f.rebind(query))
			if err != nil {
				return nil, nil, err
			}
			return func(args ...any) scanner { return stmt.QueryRowContext(ctx, args...) }, func() { _ = stmt.Close() }, nil
		}
	}
	return func(args ...any) scanner { return tx.QueryRowContext(ctx, query, args...) }, func() {}, nil
}
