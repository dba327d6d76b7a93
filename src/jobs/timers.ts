import type { SettingValues } from '../config/settingReader.js';
import { describeError, type Logger } from '../credentials/index.js';
import type { App, Services } from '../app.js';
import { credentialSweepScheduleSchema, DEFAULT_CREDENTIAL_SWEEP_SCHEDULE, type JobName } from '../config/settings.js';

/**
 * The timer functions, as plain data (no Azure import): functions/index.ts registers each with `app.timer`, the local
 * host's scheduler (jobs/scheduler.ts) runs the same list on the same schedules, and the registration test reads it.
 * A schedule is NCRONTAB (six fields, seconds first), read when the host loads the app; a run reads everything else
 * through the app's validated settings.
 *
 * A run that could not do its work logs one error line (through the invocation's context under the Functions host)
 * and then rejects with a {@link JobFailed}, so the host records a failed invocation, never a succeeded one.
 */
export interface TimerJob {
  name: JobName;
  /** The schedule from the app settings (a bad value: the default, and every run refuses: see Settings.jobProblems). */
  schedule(values: SettingValues): string;
  runOnStartup: false;
  run(app: App, log: Logger): Promise<void>;
}

/** What a failed run rejects with: its message names the job and what went wrong (never a value or a secret). */
export class JobFailed extends Error {
  override readonly name = 'JobFailed';
}

/** EVERY minute: delivers the events that are due (the change itself already tried once). */
export const EVENT_DELIVERY_SCHEDULE = '0 */1 * * * *';

export const timers: readonly TimerJob[] = [
  {
    name: 'EventDelivery',
    schedule: () => EVENT_DELIVERY_SCHEDULE,
    runOnStartup: false,
    run: async (app, log) => {
      const services = await servicesFor('EventDelivery', app, log);
      if (!services.events.enabled) return;
      const run = await failing('EventDelivery', log, () => services.events.deliverDue());
      // This run's own tries only: a run going on beside it (a nudge, another caller) counts its own.
      if (run.delivered + run.retrying + run.failed > 0) log.info('events delivered', { ...run });
    },
  },
  {
    name: 'CredentialSweep',
    schedule: (values) => credentialSweepSchedule(values),
    runOnStartup: false,
    run: async (app, log) => {
      const services = await servicesFor('CredentialSweep', app, log);
      const summary = await failing('CredentialSweep', log, () => services.sweep.run());
      // Reminders and flags written by the sweep go out now, not a minute later.
      services.events.nudge();
      // The sweep logged the incident itself (LWA refused the app's client credentials): no seller was checked.
      if (summary.stopped !== undefined) throw new JobFailed(`CredentialSweep stopped: ${summary.stopped}`);
    },
  },
];

/** The app's services for a run, or one error line and a JobFailed: the app is not configured, or this job's settings are bad. */
async function servicesFor(job: JobName, app: App, log: Logger): Promise<Services> {
  const state = await app.state();
  if (!state.ok) {
    log.error(`${job} did not run: the app is not configured`, { problems: state.problems.length });
    throw new JobFailed(`${job} did not run: the app is not configured (see /api/health)`);
  }
  const problems = state.services.settings.jobProblems[job];
  if (problems.length > 0) {
    const message = `${job} did not run: ${problems.join(' ')}`;
    log.error(message);
    throw new JobFailed(message);
  }
  return state.services;
}

/** The run's work; what it throws is logged once as "<job> failed" and rethrown as a JobFailed. */
async function failing<T>(job: JobName, log: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    log.error(`${job} failed`, { error: describeError(error) });
    throw new JobFailed(`${job} failed: ${describeError(error)}`);
  }
}

/** CREDENTIAL_SWEEP_SCHEDULE as the settings validate it, or the default when it is unset or invalid. */
export function credentialSweepSchedule(values: SettingValues): string {
  const parsed = credentialSweepScheduleSchema.safeParse(values['CREDENTIAL_SWEEP_SCHEDULE']?.trim() || undefined);
  return parsed.success ? parsed.data : DEFAULT_CREDENTIAL_SWEEP_SCHEDULE;
}
