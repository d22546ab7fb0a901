package repository

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// On PostgreSQL a cycle's rows travel as one array per column, and one statement writes each table. The write
// is still GORM's CreateInBatches, as on SQLite; only the VALUES clause renders differently:
//
//	INSERT INTO "flights" ("id","cid",…) SELECT * FROM unnest($1::bigint[],$2::bigint[],…) ON CONFLICT ("id") DO UPDATE SET …
//
// A VALUES list has one bind parameter per cell (60,000 for 3,000 flights), which PostgreSQL parses and plans
// as 3,000 row expressions. For the same 3,000 flights the VALUES upsert took 67–117 ms and the unnest form
// 26–33 ms (BENCHMARKS.md has the figures of whole cycles). The statement count no longer grows with the rows
// either: arrays are not bound by the protocol's 65,535 parameters, so a table's rows go in one batch. SQLite
// keeps VALUES lists: it has no arrays, and binding parameters in process costs little.

// columnArrays is the statement setting (gorm.DB.Set) that asks for the column-array rendering. The builder is
// registered on ingest's handle only, and even there renders column arrays only for statements that carry the
// setting: the cycle's table writes. Every other create — the cycle record, writer claims, the bench's own
// VALUES comparison on its own handle — keeps GORM's VALUES list.
const columnArrays = "vatsector:column_arrays"

// registerColumnArrays installs the VALUES builder on a PostgreSQL handle.
func registerColumnArrays(db *gorm.DB) {
	db.ClauseBuilders[clause.Values{}.Name()] = buildValues
}

// buildValues renders a VALUES clause as a SELECT from one array parameter per column, when the statement asks
// for it (columnArrays); otherwise as GORM would. GORM writes the INSERT before it and any ON CONFLICT after
// it, so the upsert reads exactly as it does over a VALUES list.
func buildValues(c clause.Clause, b clause.Builder) {
	stmt, ok := b.(*gorm.Statement)
	values, isValues := c.Expression.(clause.Values)
	if !ok || !isValues || stmt.Schema == nil || len(values.Columns) == 0 || len(values.Values) == 0 {
		c.Build(b)
		return
	}
	if on, _ := stmt.Settings.Load(columnArrays); on != true {
		c.Build(b)
		return
	}
	b.WriteByte('(')
	for j, col := range values.Columns {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteQuoted(col)
	}
	b.WriteString(") SELECT * FROM unnest(")
	for j, col := range values.Columns {
		field := stmt.Schema.LookUpField(col.Name)
		if field == nil {
			_ = stmt.AddError(fmt.Errorf("repository: %s has no column %s", stmt.Schema.Table, col.Name))
			return
		}
		pgType, err := arrayElementType(field.FieldType)
		if err != nil {
			_ = stmt.AddError(fmt.Errorf("repository: %s.%s: %w", stmt.Schema.Table, col.Name, err))
			return
		}
		array, err := columnArray(field.FieldType, values.Values, j)
		if err != nil {
			_ = stmt.AddError(fmt.Errorf("repository: %s.%s: %w", stmt.Schema.Table, col.Name, err))
			return
		}
		if j > 0 {
			b.WriteByte(',')
		}
		b.AddVar(b, pgArray{array})
		b.WriteString("::" + pgType + "[]")
	}
	b.WriteByte(')')
}

// arrayElementType maps a model field's Go type to the PostgreSQL type of its array. Integer columns take
// bigint arrays whatever their width: the insert's assignment cast narrows them, and the Go values come from
// columns of that width.
func arrayElementType(t reflect.Type) (string, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "timestamptz", nil
	case t.Kind() == reflect.String:
		return "text", nil
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64, t.Kind() == reflect.Int32:
		return "bigint", nil
	case t.Kind() == reflect.Float64:
		return "double precision", nil
	case t.Kind() == reflect.Bool:
		return "boolean", nil
	}
	return "", fmt.Errorf("no PostgreSQL array type for %s", t)
}

// columnArray gathers column j of GORM's rows into a slice of the field's own type, which pgx encodes as an
// array (nil pointers as NULL). The models' types take a typed loop; others, a slower reflective one.
func columnArray(t reflect.Type, rows [][]any, j int) (any, error) {
	var (
		s  any
		ok bool
	)
	switch t {
	case reflect.TypeFor[int64]():
		s, ok = typedColumn[int64](rows, j)
	case reflect.TypeFor[*int64]():
		s, ok = typedColumn[*int64](rows, j)
	case reflect.TypeFor[int]():
		s, ok = typedColumn[int](rows, j)
	case reflect.TypeFor[*int]():
		s, ok = typedColumn[*int](rows, j)
	case reflect.TypeFor[float64]():
		s, ok = typedColumn[float64](rows, j)
	case reflect.TypeFor[*float64]():
		s, ok = typedColumn[*float64](rows, j)
	case reflect.TypeFor[string]():
		s, ok = typedColumn[string](rows, j)
	case reflect.TypeFor[*string]():
		s, ok = typedColumn[*string](rows, j)
	case reflect.TypeFor[time.Time]():
		s, ok = typedColumn[time.Time](rows, j)
	case reflect.TypeFor[*time.Time]():
		s, ok = typedColumn[*time.Time](rows, j)
	case reflect.TypeFor[*bool]():
		s, ok = typedColumn[*bool](rows, j)
	}
	if ok {
		return s, nil
	}
	col := reflect.MakeSlice(reflect.SliceOf(t), len(rows), len(rows))
	for i, r := range rows {
		v := reflect.ValueOf(r[j])
		switch {
		case !v.IsValid() && t.Kind() == reflect.Pointer:
			// An untyped nil: the element stays a nil pointer, NULL.
		case v.IsValid() && v.Type().AssignableTo(t):
			col.Index(i).Set(v)
		default:
			return nil, fmt.Errorf("row %d holds a %T, not a %s", i, r[j], t)
		}
	}
	return col.Interface(), nil
}

// typedColumn is columnArray's loop for one type; false when a value is not of that type.
func typedColumn[T any](rows [][]any, j int) (any, bool) {
	s := make([]T, len(rows))
	for i, r := range rows {
		v, ok := r[j].(T)
		if !ok {
			return nil, false
		}
		s[i] = v
	}
	return s, true
}

// pgArray hands a Go slice to pgx as one array parameter. GORM expands a bare slice argument into a list of
// parameters (for IN); a driver.Valuer it binds as one. pgx's database/sql driver accepts every argument as
// is and calls Value itself, so the slice reaches pgx's array encoder, which quotes and escapes each element
// and turns nil pointers into NULL.
type pgArray struct{ slice any }

func (a pgArray) Value() (driver.Value, error) { return a.slice, nil }
