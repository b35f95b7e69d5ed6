package main

import (
	"strings"
	"testing"
	"time"
)

func TestReadSSE(t *testing.T) {
	type ev struct {
		id   int64
		data string
	}
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"one event", "id: 3\nevent: revocation\ndata: {\"sid\":\"a\"}\n\n", []ev{{3, `{"sid":"a"}`}}},
		{"comment and two events", ": keep-alive\n\nid: 1\ndata: x\n\nid: 2\ndata: y\n\n", []ev{{1, "x"}, {2, "y"}}},
		{"multi-line data", "id: 5\ndata: a\ndata: b\n\n", []ev{{5, "a\nb"}}},
		{"no space after colon", "id:7\ndata:z\n\n", []ev{{7, "z"}}},
		{"unfinished event is not delivered", "id: 9\ndata: q\n", nil},
		{"event without data is not delivered", "id: 4\nevent: revocation\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ev
			if err := readSSE(strings.NewReader(tt.in), func(id int64, data string) { got = append(got, ev{id, data}) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestPerSecond(t *testing.T) {
	tests := []struct {
		n    int
		d    time.Duration
		want float64
	}{
		{20000, 2 * time.Second, 10000},
		{500, 250 * time.Millisecond, 2000},
		{10, 0, 0},
		{10, -time.Second, 0},
	}
	for _, tt := range tests {
		if got := perSecond(tt.n, tt.d); got != tt.want {
			t.Errorf("perSecond(%d, %v) = %v, want %v", tt.n, tt.d, got, tt.want)
		}
	}
}
