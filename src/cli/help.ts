/** `--help` or `-h` anywhere in a command's arguments: print its usage and exit 0, whatever else was given. */
export function helpRequested(argv: readonly string[]): boolean {
  return argv.some((arg) => arg === '--help' || arg === '-h');
}

/**
 * Runs a command's main and sets the exit code. Known problems come back as lines already; anything else is one
 * line with the error's message (never a stack trace, which would bury it and can quote settings).
 */
export async function runCommand(name: string, main: () => Promise<number> | number): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(`${name} failed: ${error instanceof Error ? error.message : 'unknown error'}`);
    process.exitCode = 1;
  }
}
