import { describe, expect, it } from 'vitest';
import { isRunningInAzure } from '../../../src/config/settingReader.js';

/** Which host the settings are validated for: Azure's rules (https only, a SQL store required) or the local ones. */
describe('isRunningInAzure', () => {
  it('is true on Flex Consumption, which sets WEBSITE_SKU but no WEBSITE_INSTANCE_ID', () => {
    expect(isRunningInAzure({ WEBSITE_SKU: 'FlexConsumption', WEBSITE_SITE_NAME: 'func-spapi-x', WEBSITE_POD_NAME: 'x' })).toBe(true);
  });

  it('is true on the App Service plans and on Consumption', () => {
    expect(isRunningInAzure({ WEBSITE_SKU: 'ElasticPremium', WEBSITE_INSTANCE_ID: 'a1b2' })).toBe(true);
    expect(isRunningInAzure({ WEBSITE_SKU: 'Dynamic' })).toBe(true);
    expect(isRunningInAzure({ WEBSITE_INSTANCE_ID: 'a1b2' })).toBe(true);
  });

  it('is false under Core Tools and the local host (blank counts as unset)', () => {
    expect(isRunningInAzure({ FUNCTIONS_WORKER_RUNTIME: 'node', AZURE_FUNCTIONS_ENVIRONMENT: 'Development' })).toBe(false);
    expect(isRunningInAzure({ WEBSITE_SKU: '', WEBSITE_INSTANCE_ID: '' })).toBe(false);
  });
});
