package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.ProviderRecords = (*Store)(nil)

const providerCols = `id, config, secret, enabled, created_at, updated_at`

func scanProvider(row interface{ Scan(...any) error }) (store.ProviderRecord, error) {
	var p store.ProviderRecord
	var config string
	var created, updated int64
	err := row.Scan(&p.ID, &config, &p.Secret, &p.Enabled, &created, &updated)
	p.Config = []byte(config)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, err
}

// CreateProvider stores p; missing times are now. ErrConflict when the id
// is taken.
func (s *Store) CreateProvider(ctx context.Context, p store.ProviderRecord) error {
	if p.ID == "" {
		return errors.New("store: create provider: empty id")
	}
	p.CreatedAt, p.UpdatedAt = s.newTimes(p.CreatedAt, p.UpdatedAt)
	_, err := s.w().ExecContext(ctx, `INSERT INTO providers (`+providerCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, string(p.Config), p.Secret, p.Enabled, micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return s.fail(err, "create provider %q", p.ID)
	}
	s.changed(ctx, store.Change{Provider: p.ID})
	return nil
}

// UpdateProvider replaces the settings, secret and state of p.ID; a
// missing UpdatedAt is now. The creation time stays.
func (s *Store) UpdateProvider(ctx context.Context, p store.ProviderRecord) error {
	res, err := s.w().ExecContext(ctx, `UPDATE providers SET config = $2, secret = $3, enabled = $4, updated_at = $5 WHERE id = $1`,
		p.ID, string(p.Config), p.Secret, p.Enabled, micros(s.orNow(p.UpdatedAt)))
	if err := s.mustAffect(res, err, "update provider %q", p.ID); err != nil {
		return err
	}
	s.changed(ctx, store.Change{Provider: p.ID})
	return nil
}

// GetProvider returns the provider with id.
func (s *Store) GetProvider(ctx context.Context, id string) (store.ProviderRecord, error) {
	p, err := scanProvider(s.r().QueryRowContext(ctx, `SELECT `+providerCols+` FROM providers WHERE id = $1`, id))
	if err != nil {
		return store.ProviderRecord{}, s.fail(err, "get provider %q", id)
	}
	return p, nil
}

// ListProviders returns every stored provider, by id.
func (s *Store) ListProviders(ctx context.Context) ([]store.ProviderRecord, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT `+providerCols+` FROM providers ORDER BY id`)
	if err != nil {
		return nil, s.fail(err, "list providers")
	}
	ps, err := collect(rows, func(r *sql.Rows) (store.ProviderRecord, error) { return scanProvider(r) })
	if err != nil {
		return nil, s.fail(err, "list providers")
	}
	return ps, nil
}

// DeleteProvider removes the provider with id. Its identity links stay:
// a provider created again under the same id finds its people again.
func (s *Store) DeleteProvider(ctx context.Context, id string) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM providers WHERE id = $1`, id)
	if err := s.mustAffect(res, err, "delete provider %q", id); err != nil {
		return err
	}
	s.changed(ctx, store.Change{Provider: id})
	return nil
}
