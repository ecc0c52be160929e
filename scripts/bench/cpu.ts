/**
 * CPU time a process has used, from Linux's `/proc/<pid>/stat` (`utime` + `stime`, all threads
 * together: V8's background compiler and GC threads count too). Resolution is one clock tick,
 * usually 10 ms, so read it around runs of thousands of requests, not single ones.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * Seconds of CPU (user + system) used so far by process `pid`, or null where `/proc` is not
 * there (macOS): the benchmark then reports no CPU figures rather than wrong ones.
 * @example
 * const before = processCpuSeconds(pid); await load(); const used = processCpuSeconds(pid)! - before!;
 */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of proc(5) are utime and stime; fields[0] here is field 3.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}
