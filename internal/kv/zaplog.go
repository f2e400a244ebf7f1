package kv

import (
	"context"
	"log/slog"
	"slices"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger (what etcd's server and client log
// to) that forwards entries at min or above to logger. level, when not nil,
// decides each entry's slog level (to demote known noise).
func newZapLogger(logger *slog.Logger, min slog.Level, level func(zapcore.Entry) slog.Level) *zap.Logger {
	return newObservedZapLogger(logger, min, level, nil)
}

// newObservedZapLogger is newZapLogger that also shows seen every entry
// at info or above, with its fields, whether logged or not, in the
// goroutine that logs it and before the call returns (the disk guard
// watches etcd's failed WAL preallocation and its snapshots, and holds
// etcd's apply goroutine at "triggering snapshot" while the disk is full).
func newObservedZapLogger(logger *slog.Logger, min slog.Level, level func(zapcore.Entry) slog.Level, seen func(zapcore.Entry, []zapcore.Field)) *zap.Logger {
	if level == nil {
		level = func(e zapcore.Entry) slog.Level { return slogLevel(e.Level) }
	}
	return zap.New(&slogCore{l: logger, min: min, level: level, seen: seen})
}

// slogCore is a zapcore.Core writing to a slog.Logger.
type slogCore struct {
	l      *slog.Logger
	min    slog.Level
	level  func(zapcore.Entry) slog.Level
	seen   func(zapcore.Entry, []zapcore.Field) // nil: none
	fields []zapcore.Field
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (c *slogCore) enabled(sl slog.Level) bool {
	return sl >= c.min && c.l.Enabled(context.Background(), sl)
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.seen != nil && l >= zapcore.InfoLevel || c.enabled(slogLevel(l))
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{l: c.l, min: c.min, level: c.level, seen: c.seen, fields: append(slices.Clip(c.fields), fields...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.seen != nil && e.Level >= zapcore.InfoLevel || c.enabled(c.level(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.seen != nil && e.Level >= zapcore.InfoLevel {
		c.seen(e, append(slices.Clip(c.fields), fields...))
	}
	if !c.enabled(c.level(e)) {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	if e.LoggerName != "" {
		attrs = append(attrs, slog.String("zap_logger", e.LoggerName))
	}
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, enc.Fields[k]))
	}
	c.l.LogAttrs(context.Background(), c.level(e), e.Message, attrs...)
	return nil
}

func (c *slogCore) Sync() error { return nil }
