// Admin: integrations (API tokens for machine clients, webhooks with their delivery log, the
// external CRM).
import { mountCrmSettings } from "../crm-settings.js";
import { mountTokens } from "../tokens.js";
import { mountWebhooks } from "../webhooks.js";

mountTokens();
mountWebhooks();
mountCrmSettings();
