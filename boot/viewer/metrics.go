package viewer

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rayos/engine/components"
)

// metrics are what /metrics serves, in the server's own registry (not
// the global one: two servers in one process, as in tests, must not
// collide). The tick observes its histograms itself — each observation
// is an atomic add, no allocation — the hub counts markers and clients.
type metrics struct {
	reg *prometheus.Registry

	tick          prometheus.Histogram
	system        *prometheus.HistogramVec
	ticks         prometheus.Counter
	markers       *prometheus.CounterVec
	markersMissed prometheus.Counter
	guests        *prometheus.GaugeVec
	gpuUp         prometheus.Histogram
	gpuRead       prometheus.Histogram
	gpuUpTotal    prometheus.Counter
	gpuReadTotal  prometheus.Counter
	// composedPixels counts the pixels the compositor recomposed.
	composedPixels prometheus.Counter
	// migrations counts the scheduler's task migrations by reason;
	// migrationsSeen is the SchedStats totals already counted.
	migrations     *prometheus.CounterVec
	migrationsBy   []prometheus.Counter
	migrationsSeen [len(components.MigrationReasonNames)]uint64

	clients        prometheus.Gauge
	dropped        *prometheus.CounterVec
	refused        *prometheus.CounterVec
	badMessages    prometheus.Counter
	frames         prometheus.Counter
	frameBytes     prometheus.Counter
	publishSkipped prometheus.Counter

	// Resolved once: the tick observes through these, never through a
	// vector's label lookup (which takes a lock).
	ackDropped  prometheus.Counter
	guestStates []prometheus.Gauge
	droppedBy   map[string]prometheus.Counter

	mu          sync.Mutex
	markerKinds map[string]prometheus.Counter
}

func newMetrics() *metrics {
	durations := prometheus.ExponentialBuckets(25e-6, 2, 17) // 25 µs … 1.6 s
	bytes := prometheus.ExponentialBuckets(8, 4, 14)         // 8 B … 537 MB
	m := &metrics{
		reg: prometheus.NewRegistry(),
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rayos_tick_duration_seconds", Help: "Wall-clock duration of one tick (every system).", Buckets: durations,
		}),
		system: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rayos_system_duration_seconds", Help: "Wall-clock duration of one system in one tick.", Buckets: durations,
		}, []string{"system"}),
		ticks:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_ticks_total", Help: "Ticks run."}),
		markers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rayos_markers_total", Help: "Markers emitted, by prefix (the viewer's copy of the stream)."}, []string{"kind"}),
		markersMissed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rayos_viewer_markers_missed_total", Help: "Markers the viewer did not get (its subscription or its hand-off was full).",
		}),
		guests: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rayos_guests", Help: "Guests by state."}, []string{"state"}),
		gpuUp: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rayos_gpu_upload_bytes_per_tick", Help: "Bytes uploaded to the compute device in one tick.", Buckets: bytes,
		}),
		gpuRead: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rayos_gpu_readback_bytes_per_tick", Help: "Bytes read back from the compute device in one tick (the frame tap's tiles included).", Buckets: bytes,
		}),
		gpuUpTotal:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_gpu_upload_bytes_total", Help: "Bytes uploaded to the compute device."}),
		gpuReadTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_gpu_readback_bytes_total", Help: "Bytes read back from the compute device."}),
		composedPixels: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rayos_compositor_pixels_total", Help: "Frame pixels the compositor recomposed (damaged tiles only).",
		}),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rayos_sched_migrations_total", Help: "Compute tasks placed or moved by the scheduler, by reason (placed, cheaper, overload, thermal, policy, device-gone).",
		}, []string{"reason"}),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rayos_viewer_clients", Help: "WebSocket clients connected."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rayos_viewer_clients_dropped_total", Help: "Clients disconnected by the viewer, by reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rayos_viewer_requests_refused_total", Help: "Requests and clients refused, by reason.",
		}, []string{"reason"}),
		badMessages:    prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_viewer_bad_messages_total", Help: "Malformed messages from clients."}),
		frames:         prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_viewer_frames_sent_total", Help: "Frame deltas sent to clients."}),
		frameBytes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_viewer_frame_bytes_total", Help: "Bytes of frame deltas sent to clients."}),
		publishSkipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "rayos_viewer_publish_deferred_total", Help: "Ticks whose publication waited for the hub (never for the tick)."}),
		markerKinds:    map[string]prometheus.Counter{},
	}
	m.ackDropped = m.refused.WithLabelValues("ack-dropped")
	m.droppedBy = map[string]prometheus.Counter{}
	for _, reason := range []string{"shutdown", "bad-input", "fell-behind"} {
		m.droppedBy[reason] = m.dropped.WithLabelValues(reason)
	}
	for _, state := range components.GuestStateNames {
		m.guestStates = append(m.guestStates, m.guests.WithLabelValues(state))
	}
	for _, reason := range components.MigrationReasonNames {
		var c prometheus.Counter
		if reason != "" {
			c = m.migrations.WithLabelValues(reason)
		}
		m.migrationsBy = append(m.migrationsBy, c)
	}
	m.reg.MustRegister(m.migrations)
	m.reg.MustRegister(m.tick, m.system, m.ticks, m.markers, m.markersMissed, m.guests, m.gpuUp, m.gpuRead, m.gpuUpTotal, m.gpuReadTotal, m.composedPixels,
		m.clients, m.dropped, m.refused, m.badMessages, m.frames, m.frameBytes, m.publishSkipped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// marker counts one marker of a kind (prefix).
func (m *metrics) marker(kind string) {
	m.mu.Lock()
	c, ok := m.markerKinds[kind]
	if !ok {
		c = m.markers.WithLabelValues(kind)
		m.markerKinds[kind] = c
	}
	m.mu.Unlock()
	c.Inc()
}

// sched counts the migrations since the last call (the totals' growth,
// so a tick the scheduler did not run counts nothing twice).
func (m *metrics) sched(ss *components.SchedStats) {
	if ss == nil {
		return
	}
	for r, c := range m.migrationsBy {
		if c != nil && r < len(ss.Total) && ss.Total[r] > m.migrationsSeen[r] {
			c.Add(float64(ss.Total[r] - m.migrationsSeen[r]))
			m.migrationsSeen[r] = ss.Total[r]
		}
	}
}
