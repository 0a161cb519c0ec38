// Admin: integrations (API tokens for machine clients, webhooks with their delivery log).
import { mountTokens } from "../tokens.js";
import { mountWebhooks } from "../webhooks.js";

mountTokens();
mountWebhooks();
