/** `--help` or `-h` anywhere in a command's arguments: print its usage and exit 0, whatever else was given. */
export function helpRequested(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--help' || arg === '-h');
}
