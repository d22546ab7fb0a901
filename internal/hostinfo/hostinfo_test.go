package hostinfo

import "testing"

func TestField(t *testing.T) {
	text := "processor\t: 0\nmodel name\t: AMD EPYC\nmodel name\t: other\nMemTotal:       24683568 kB\n"
	cases := []struct{ key, want string }{
		{"model name", "AMD EPYC"}, {"MemTotal", "24683568 kB"}, {"processor", "0"}, {"absent", "unknown"},
	}
	for _, tc := range cases {
		if got := field(text, tc.key); got != tc.want {
			t.Errorf("field(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
