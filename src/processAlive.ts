/**
 * True while process `pid` exists on this host: signal 0 checks without signalling, and EPERM means it exists but
 * belongs to another user. Used to tell a running export's or job's leftovers from a dead one's.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
