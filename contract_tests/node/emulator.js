// Where the emulator runs and its default credentials (README "From Node.js").
'use strict';

const url = new URL(process.env.EMULATOR_URL || 'http://127.0.0.1:9088');

module.exports = {
  url: url.origin,
  accessKeyId: process.env.EMULATOR_ACCESS_KEY_ID || 'LTAI-emulator',
  accessKeySecret: process.env.EMULATOR_ACCESS_KEY_SECRET || 'emulator-secret',
  accountId: process.env.EMULATOR_ACCOUNT_ID || '1234567890123456',
  dashscopeApiKey: process.env.DASHSCOPE_API_KEY || 'sk-emulator',
  // A name no other run of the suite uses, so it can run against a live emulator twice.
  unique: (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  // Poll `probe` until `done(value)`, at most `timeoutMs`; never a bare sleep.
  async poll(probe, done, timeoutMs = 120000, intervalMs = 100) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  },
};
