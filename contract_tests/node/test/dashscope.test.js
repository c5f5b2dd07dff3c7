// DashScope with plain fetch, as the documentation's curl flow: submit async, poll the task,
// download the result.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const emulator = require('../emulator');

const DOCS = 'https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919';
const headers = { Authorization: `Bearer ${emulator.dashscopeApiKey}`, 'Content-Type': 'application/json' };

test('fetch: wan2.2-animate-move submit, poll, download', async () => {
  const submitted = await fetch(`${emulator.url}/api/v1/services/aigc/image2video/video-synthesis`, {
    method: 'POST', headers: { ...headers, 'X-DashScope-Async': 'enable' },
    body: JSON.stringify({ model: 'wan2.2-animate-move',
                           input: { image_url: `${DOCS}/adsyrp/move_input_image.jpeg`,
                                    video_url: `${DOCS}/kaakcn/move_input_video.mp4` },
                           parameters: { mode: 'wan-std' } }) });
  assert.equal(submitted.status, 200);
  const { output: { task_id: taskId, task_status: first } } = await submitted.json();
  assert.equal(first, 'PENDING');
  const done = await emulator.poll(
    async () => (await fetch(`${emulator.url}/api/v1/tasks/${taskId}`, { headers })).json(),
    (body) => !['PENDING', 'RUNNING'].includes(body.output.task_status));
  assert.equal(done.output.task_status, 'SUCCEEDED', JSON.stringify(done));
  const video = await fetch(done.output.results.video_url);
  assert.equal(video.status, 200);
  const bytes = Buffer.from(await video.arrayBuffer());
  assert.equal(bytes.subarray(4, 8).toString(), 'ftyp', 'an MP4');
});

test('fetch: a wrong key is refused with InvalidApiKey', async () => {
  const response = await fetch(`${emulator.url}/api/v1/tasks/any`, { headers: { Authorization: 'Bearer sk-wrong' } });
  assert.equal(response.status, 401);
  assert.equal((await response.json()).code, 'InvalidApiKey');
});
