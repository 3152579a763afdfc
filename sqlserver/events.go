package sqlserver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/eventscheduler"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// The event scheduler is GMS's (package eventscheduler): it reads the
// storage engine's event definitions (storage/events.go) and runs each
// enabled event's body in a session of its own, as the event's definer,
// committing through the storage engine like any client statement, so an
// event's row changes are binlogged (and semi-synchronously acknowledged)
// as a client's are. Events a replica received from its source are stored
// SLAVESIDE_DISABLED and never run there.

// eventSchedulerPeriod is how often, in seconds, the scheduler looks for
// due events while any exist (GMS's default is 30 s, too coarse for EVERY
// n SECOND events). With no event it sleeps until one is created.
const eventSchedulerPeriod = 1

// eventSchedulerUser is the account GMS's scheduler reads events as (a
// locked superuser it creates, as MySQL's event_scheduler thread user).
const eventSchedulerUser = "event_scheduler"

// startEventScheduler starts GMS's event scheduler in state status (ON,
// OFF or DISABLED, mysqld's --event-scheduler; empty: ON, MySQL 8.0's
// default) and makes SET GLOBAL event_scheduler turn it on and off. Call it
// once the engine holds its data (after the binlog's replay): when ON it
// loads the events at once.
func (s *Server) startEventScheduler(status string) error {
	st := eventscheduler.SchedulerStatus(strings.ToUpper(status))
	switch st {
	case "":
		st = eventscheduler.SchedulerOn
	case eventscheduler.SchedulerOn, eventscheduler.SchedulerOff, eventscheduler.SchedulerDisabled:
	default:
		return fmt.Errorf("sqlserver: --event-scheduler=%s: want ON, OFF or DISABLED", status)
	}
	var pid atomic.Uint64
	newCtx := func() (*sql.Context, error) {
		base := sql.NewBaseSessionWithClientServer("localhost", sql.Client{User: eventSchedulerUser, Address: "localhost"}, 0)
		sess := s.backend.NewSession(base)
		return sql.NewContext(context.Background(), sql.WithSession(sess), sql.WithPid(pid.Add(1))), nil
	}
	if err := s.engine.InitializeEventScheduler(newCtx, st, eventSchedulerPeriod); err != nil {
		return fmt.Errorf("sqlserver: event scheduler: %w", err)
	}
	s.events = &eventControl{es: s.engine.EventScheduler, a: s.engine.Analyzer, log: s.log.WithField("component", "event_scheduler")}
	sql.SystemVariables.AddSystemVariables([]sql.SystemVariable{&sql.MysqlSystemVariable{
		Name:    "event_scheduler",
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Global),
		Dynamic: true,
		Type:    types.NewSystemEnumType("event_scheduler", "ON", "OFF", "DISABLED"),
		Default: string(st),
		NotifyChanged: func(_ *sql.Context, _ sql.SystemVariableScope, v sql.SystemVarValue) error {
			val := strings.ToUpper(fmt.Sprint(v.Val))
			if st == eventscheduler.SchedulerDisabled {
				return mysql.NewSQLError(erOptionPreventsStatement, "HY000", "The MySQL server is running with the --event-scheduler=DISABLED or --skip-grant-tables option so it cannot execute this statement")
			}
			switch val {
			case "ON", "1":
				s.events.set(true)
				return nil
			case "OFF", "0":
				s.events.set(false)
				return nil
			}
			return mysql.NewSQLError(erWrongValueForVar, "42000", "Variable 'event_scheduler' can't be set to the value of '%s'", val)
		},
	}})
	return nil
}

// eventControl turns the scheduler on and off for SET GLOBAL
// event_scheduler, in a goroutine of its own: GMS calls the variable's
// NotifyChanged holding the system variables' lock, and both turning the
// scheduler on and stopping it wait for sessions to be made, which read the
// system variables. The goroutine starts at the first SET and applies the
// latest value asked for; Close stops it.
type eventControl struct {
	es  *eventscheduler.EventScheduler
	a   *analyzer.Analyzer
	log *logrus.Entry

	once  sync.Once
	want  atomic.Bool
	nudge chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

func (c *eventControl) set(on bool) {
	c.once.Do(func() {
		c.nudge, c.stop, c.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go c.run()
	})
	c.want.Store(on)
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

func (c *eventControl) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.nudge:
		}
		var err error
		if on := c.want.Load(); on {
			err = c.es.TurnOnEventScheduler(c.a)
		} else {
			err = c.es.TurnOffEventScheduler()
		}
		if err != nil {
			c.log.WithError(err).Error("changing event_scheduler")
		}
	}
}

// close stops the goroutine (if it was started); call before the engine
// closes the scheduler.
func (c *eventControl) close() {
	if c == nil {
		return
	}
	c.once.Do(func() {}) // a later set starts nothing
	if c.stop == nil {
		return
	}
	close(c.stop)
	<-c.done
}
