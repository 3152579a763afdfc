// Package semisynctest starts a semisyncd primary with semi-synchronous replicas for an
// application's tests, with knobs to slow, cut, stop and kill servers and to fail over.
//
//	c := semisynctest.Start(t, semisynctest.Options{Replicas: 2, Timeout: time.Second})
//	db, _ := sql.Open("mysql", c.Primary.DSN("app"))   // go-sql-driver/mysql
//	…writes…
//	c.WaitReplicated(t)                                  // every replica applied them
//	c.Replicas[0].Delay(2 * time.Second)                 // a lagging replica
//	c.Replicas[1].Cut(); …; c.Replicas[1].Restore()      // a broken link
//	c.Primary.Kill()                                     // the primary dies
//	np := c.Failover(t)                                  // the most advanced replica takes over
//
// Every server is its own semisyncd process (go-mysql-server keeps global state, so one
// process holds one server) listening on a free port of 127.0.0.1, with a temporary data
// directory; all of them stop when the test ends. The binary is SEMISYNCD_BIN when set, or
// built once per machine from the kit's own module version into the user cache directory (see
// Binary). A replica's replication link goes through a small TCP proxy of the kit, which is how
// Delay and Cut act on it; applications connect to the servers directly.
//
// Replicas run with super_read_only ON, as MySQL replicas usually do: an application's write
// there fails with MySQL's error 1290, while replication applies. Failover clears it on the
// promoted replica.
package semisynctest
