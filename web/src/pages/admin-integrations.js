// Admin: integrations (API tokens for machine clients, webhooks with their delivery log, the
// external CRM, number masking, virtual numbers).
import { mountCrmSettings } from "../crm-settings.js";
import { mountMasking } from "../masking-settings.js";
import { mountTokens } from "../tokens.js";
import { mountVirtualNumbers } from "../virtual-numbers.js";
import { mountWebhooks } from "../webhooks.js";

mountTokens();
mountWebhooks();
mountCrmSettings();
mountMasking();
mountVirtualNumbers();
