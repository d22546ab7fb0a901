package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		content string
		limit   int64
		wantErr bool
	}{
		{name: "within the limit", content: "hello", limit: 5},
		{name: "no limit", content: strings.Repeat("x", 1<<16)},
		{name: "over the limit", content: "hello!", limit: 5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.json")
			err := Write(path, strings.NewReader(tt.content), tt.limit)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(dir)
			if tt.wantErr {
				if len(entries) != 0 {
					t.Errorf("a failed write left %d files behind", len(entries))
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tt.content {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != Mode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), os.FileMode(Mode))
			}
			if len(entries) != 1 {
				t.Errorf("%d files in the folder, want only the target", len(entries))
			}
		})
	}
}
