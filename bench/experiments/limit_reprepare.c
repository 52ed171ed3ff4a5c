/* Does SQLite re-prepare a cached statement with `LIMIT ?` at every execution? (diesel's .first()
 * and .limit(n) bind the limit as a parameter.) Against the SQLite that libsqlite3-sys bundles:
 *   S=$(find ~/.cargo/registry/src -maxdepth 2 -name 'libsqlite3-sys-0.35*' | head -1)/sqlite3
 *   gcc -O1 -I$S bench/experiments/limit_reprepare.c $S/sqlite3.c -o /tmp/limit_reprepare -lpthread -ldl -lm
 *   /tmp/limit_reprepare
 */
#include <stdio.h>
#include "sqlite3.h"
static void run(sqlite3 *db, const char *sql, int nparams) {
  sqlite3_stmt *st; sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, 0);
  for (int i = 0; i < 1000; i++) {
    sqlite3_reset(st); sqlite3_bind_int(st, 1, i % 10);
    if (nparams > 1) sqlite3_bind_int(st, 2, 1);
    while (sqlite3_step(st) == SQLITE_ROW) {}
  }
  printf("%-50s re-prepared %d times in 1000 executions\n", sql, sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0));
  sqlite3_finalize(st);
}
int main(void) {
  sqlite3 *db; sqlite3_open(":memory:", &db);
  printf("SQLite %s\n", sqlite3_libversion());
  sqlite3_exec(db, "CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100) INSERT INTO u SELECT x, 'x' FROM c;", 0, 0, 0);
  run(db, "SELECT v FROM u WHERE id = ?", 1);
  run(db, "SELECT v FROM u WHERE id = ? LIMIT ?", 2);
  run(db, "SELECT v FROM u WHERE id = ? LIMIT 1", 1);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, 0);
  run(db, "SELECT v FROM u WHERE id = ? LIMIT ? /* QPSG on */", 2);
  return 0;
}
