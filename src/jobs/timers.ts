import type { SettingValues } from '../config/settingReader.js';
import { describeError, type Logger } from '../credentials/index.js';
import type { App } from '../app.js';
import { credentialSweepScheduleSchema, DEFAULT_CREDENTIAL_SWEEP_SCHEDULE } from '../config/settings.js';

/**
 * The timer functions, as plain data (no Azure import): functions/index.ts registers each with `app.timer`, and the
 * registration test reads the same list. A schedule is NCRONTAB (six fields, seconds first), read when the host
 * loads the app; a run reads everything else through the app's validated settings.
 */
export interface TimerJob {
  name: string;
  /** The schedule from the app settings (a bad value is reported by the run, which then does nothing). */
  schedule(values: SettingValues): string;
  runOnStartup: false;
  run(app: App, log: Logger): Promise<void>;
}

/** EVERY minute: delivers the events that are due (the change itself already tried once). */
export const EVENT_DELIVERY_SCHEDULE = '0 */1 * * * *';

export const timers: readonly TimerJob[] = [
  {
    name: 'EventDelivery',
    schedule: () => EVENT_DELIVERY_SCHEDULE,
    runOnStartup: false,
    run: async (app, log) => {
      const state = await app.state();
      if (!state.ok) {
        log.error('EventDelivery did not run: the app is not configured', { problems: state.problems.length });
        return;
      }
      if (!state.services.events.enabled) return;
      try {
        const run = await state.services.events.deliverDue();
        if (run.delivered + run.retrying + run.failed > 0) log.info('events delivered', { ...run });
      } catch (error) {
        log.error('EventDelivery failed', { error: describeError(error) });
      }
    },
  },
  {
    name: 'CredentialSweep',
    schedule: (values) => credentialSweepSchedule(values),
    runOnStartup: false,
    run: async (app, log) => {
      const state = await app.state();
      if (!state.ok) {
        log.error('CredentialSweep did not run: the app is not configured', { problems: state.problems.length });
        return;
      }
      try {
        await state.services.sweep.run();
        // Reminders and flags written by the sweep go out now, not a minute later.
        state.services.events.nudge();
      } catch (error) {
        log.error('CredentialSweep failed', { error: describeError(error) });
      }
    },
  },
];

/** CREDENTIAL_SWEEP_SCHEDULE as the settings validate it, or the default when it is unset or invalid. */
export function credentialSweepSchedule(values: SettingValues): string {
  const parsed = credentialSweepScheduleSchema.safeParse(values['CREDENTIAL_SWEEP_SCHEDULE']?.trim() || undefined);
  return parsed.success ? parsed.data : DEFAULT_CREDENTIAL_SWEEP_SCHEDULE;
}
