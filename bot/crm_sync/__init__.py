"""CRM sync: every shareable lead, kept up to date in the CRMs a business already uses.

The lead service arms an outbox message in the transaction of every lead change
(`crm_bridge.outbox`); `leadbot sync` runs `worker.SyncWorker`, which fans each change out to
the destinations configured in the environment (`config`) and delivers the lead's latest state
to each: HubSpot (`hubspot`), Salesforce (`salesforce`) and a signed webhook (`webhook`).
"""
