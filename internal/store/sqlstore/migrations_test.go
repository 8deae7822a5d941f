package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/postgres"
	"github.com/gatehouse/gatehouse/internal/store/sqlite"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// The two backends share one implementation, so their schemas must stay in
// step: the same migrations, by version and name, and once applied the
// same tables with the same columns. Column types may differ by dialect.
func TestMigrationsInStep(t *testing.T) {
	// The directories the backends embed (migrations/*.sql).
	lite := migrationNames(t, "../sqlite/migrations")
	pg := migrationNames(t, "../postgres/migrations")
	for _, d := range diffLists(lite, pg) {
		t.Errorf("migration %s", d)
	}

	ctx := t.Context()
	ls, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	defer ls.Close()
	ps, err := postgres.Open(ctx, storetest.PostgresDSN(t))
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer ps.Close()

	liteApplied := appliedVersions(t, ls.DB())
	pgApplied := appliedVersions(t, ps.DB())
	if want := versionsOf(t, lite); !slices.Equal(liteApplied, want) {
		t.Errorf("sqlite applied versions %v, its migration files have %v", liteApplied, want)
	}
	for _, d := range diffLists(liteApplied, pgApplied) {
		t.Errorf("applied version %s", d)
	}

	liteCols := query(t, ls.DB(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	pgCols := query(t, ps.DB(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if len(liteCols) == 0 || len(pgCols) == 0 {
		t.Fatalf("no columns read: %d in sqlite, %d in postgres", len(liteCols), len(pgCols))
	}
	t.Logf("%d tables, %d columns", len(tables(liteCols)), len(liteCols))
	for _, d := range diffSchemas(liteCols, pgCols) {
		t.Error(d)
	}
}

// migrationNames lists a migration directory the way the store reads it.
func migrationNames(t *testing.T, dir string) []string {
	t.Helper()
	migs, err := sqlstore.Migrations(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 {
		t.Fatalf("%s: no migrations", dir)
	}
	names := make([]string, len(migs))
	for i, m := range migs {
		names[i] = m.Name
	}
	return names
}

func versionsOf(t *testing.T, names []string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		var v int
		if _, err := fmt.Sscanf(n, "%d_", &v); err != nil {
			t.Fatalf("migration %q: %v", n, err)
		}
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func appliedVersions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, row := range query(t, db, `SELECT version, '' FROM schema_migrations ORDER BY version`) {
		out = append(out, row[0])
	}
	return out
}

// query returns the rows of a two-column query as strings.
func query(t *testing.T, db *sql.DB, q string) [][2]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{a, b})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffLists says where two ordered lists part: an entry that only one side
// has at that position, named by its side.
func diffLists(lite, pg []string) []string {
	var out []string
	for i := range max(len(lite), len(pg)) {
		switch {
		case i >= len(pg):
			out = append(out, fmt.Sprintf("%s: only in sqlite", lite[i]))
		case i >= len(lite):
			out = append(out, fmt.Sprintf("%s: only in postgres", pg[i]))
		case lite[i] != pg[i]:
			out = append(out, fmt.Sprintf("#%d: %s in sqlite, %s in postgres", i+1, lite[i], pg[i]))
		}
	}
	return out
}

// diffSchemas compares (table, column) pairs: every table and column that
// one backend has and the other lacks.
func diffSchemas(lite, pg [][2]string) []string {
	l, p := tables(lite), tables(pg)
	var out []string
	for _, name := range sortedKeys(l, p) {
		lc, inLite := l[name]
		pc, inPG := p[name]
		switch {
		case !inPG:
			out = append(out, fmt.Sprintf("table %s: only in sqlite", name))
		case !inLite:
			out = append(out, fmt.Sprintf("table %s: only in postgres", name))
		default:
			for _, c := range sortedKeys(lc, pc) {
				switch {
				case !pc[c]:
					out = append(out, fmt.Sprintf("table %s column %s: only in sqlite", name, c))
				case !lc[c]:
					out = append(out, fmt.Sprintf("table %s column %s: only in postgres", name, c))
				}
			}
		}
	}
	return out
}

func tables(cols [][2]string) map[string]map[string]bool {
	m := map[string]map[string]bool{}
	for _, tc := range cols {
		if m[tc[0]] == nil {
			m[tc[0]] = map[string]bool{}
		}
		m[tc[0]][tc[1]] = true
	}
	return m
}

func sortedKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// The comparison names what differs, on either side.
func TestDiffSchemas(t *testing.T) {
	lite := [][2]string{{"accounts", "id"}, {"accounts", "email"}, {"sessions", "id"}}
	pg := [][2]string{{"accounts", "id"}, {"accounts", "locale"}, {"keys", "kid"}}
	want := []string{
		"table accounts column email: only in sqlite",
		"table accounts column locale: only in postgres",
		"table keys: only in postgres",
		"table sessions: only in sqlite",
	}
	if got := diffSchemas(lite, pg); !slices.Equal(got, want) {
		t.Errorf("diffSchemas = %q, want %q", got, want)
	}
	if got, want := diffLists([]string{"0001_a.sql", "0002_b.sql"}, []string{"0001_a.sql", "0002_c.sql", "0003_d.sql"}),
		[]string{"#2: 0002_b.sql in sqlite, 0002_c.sql in postgres", "0003_d.sql: only in postgres"}; !slices.Equal(got, want) {
		t.Errorf("diffLists = %q, want %q", got, want)
	}
}
