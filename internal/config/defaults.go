package config

import (
	"runtime"
	"time"
)

// Default returns the embedded configuration: a gateway on
// http://localhost:8080 backed by a SQLite file under ./gatehouse-data/, no
// identity providers, no routes and no outgoing mail. It validates cleanly,
// so `gatehouse serve` runs without a config file.
func Default() Config {
	return Config{
		PublicURL: "http://localhost:8080",
		Listen:    "127.0.0.1:8080",
		OpsListen: "127.0.0.1:9091",
		Store: Store{
			Driver: "sqlite",
			DSN:    "./gatehouse-data/gatehouse.db",
		},
		Roles: "standard",
		Session: Session{
			IdleTimeout:       Duration(30 * time.Minute),
			AbsoluteTimeout:   Duration(12 * time.Hour),
			SharedIdleTimeout: Duration(10 * time.Minute),
			CacheSize:         100000,
			CacheTTL:          Duration(5 * time.Second),
		},
		Password: Password{
			ResetTokenTTL:  Duration(30 * time.Minute),
			InviteTokenTTL: Duration(72 * time.Hour),
			Argon2: Argon2{
				MemoryKiB:   64 * 1024,
				Iterations:  1,
				Parallelism: 2,
			},
			MaxConcurrentHashes: runtime.NumCPU(),
			HashCPUPercent:      20,
			Lockout: Lockout{
				MaxFailures:   5,
				Window:        Duration(15 * time.Minute),
				MaxLock:       Duration(24 * time.Hour),
				HardLockAfter: 100,
				DeviceTTL:     Duration(90 * 24 * time.Hour),
				IPLimit:       30,
				IPWindow:      Duration(time.Minute),
			},
		},
		Mail: Mail{
			SMTP: SMTP{Port: 25},
		},
		Log: Log{
			Level:  "info",
			Format: "json",
			Access: true,
		},
		Limits: Limits{
			MaxHeaderBytes:   64 << 10,
			MaxFormBytes:     64 << 10,
			GCHeapFloorBytes: 14 << 20,

			UnauthPerMinute:       300,
			UnauthBurst:           100,
			GatewayReadTimeout:    Duration(30 * time.Second),
			UploadMinRate:         4096,
			UploadRateWindow:      Duration(10 * time.Second),
			InvitationsPerAdmin:   200,
			InvitationsPerCompany: 500,
			ImportMaxBytes:        5 << 20,
			ImportMaxColumns:      200,
			ImportMaxRows:         10000,
			ImportMaxErrors:       100,
		},
		Audit: Audit{Retention: Duration(DefaultAuditRetention)},
		SSO:   SSO{OnDisable: OnDisableEnd},
	}
}

// DefaultAuditRetention keeps a little over a year of audit events, so a
// yearly review always finds the whole year.
const DefaultAuditRetention = 400 * 24 * time.Hour

// defaultRoute is what every entry of routes starts from before its YAML is
// applied, so an omitted key gets its default and an explicit 0 stays 0.
func defaultRoute() Route {
	return Route{
		PathPrefix:   "/",
		Timeout:      Duration(30 * time.Second),
		MaxIdleConns: 256,
	}
}
