package pool

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	t.Parallel()
	g := NewGate(2)
	ctx := context.Background()
	for range 2 {
		if err := g.Enter(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Full: a third caller waits until its context ends.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := g.Enter(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enter on a full gate: %v, want deadline exceeded", err)
	}
	// A slot given back admits the next waiter.
	done := make(chan error, 1)
	go func() { done <- g.Enter(ctx) }()
	g.Leave()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMaxWaitingDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		conns, waiting, want int
	}{
		{0, 0, defaultMaxWaiting}, // connections not capped
		{256, 0, 512},             // twice the connections
		{256, 10, 10},             // as set
	} {
		o := Options{MaxConnsPerHost: tc.conns, MaxWaiting: tc.waiting}.withDefaults()
		if o.MaxWaiting != tc.want {
			t.Errorf("conns %d waiting %d: MaxWaiting %d, want %d", tc.conns, tc.waiting, o.MaxWaiting, tc.want)
		}
	}
}
