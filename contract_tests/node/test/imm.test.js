// IMM through @alicloud/pop-core (RPC, HMAC-SHA1) and @alicloud/openapi-client (ACS3, generic
// callApi): the first example of the seed document (video to animated WebP), against the state
// fixtures/scenarios/seed-docs.yaml seeds (test-bucket/video-demo/brewing.mov, test-project,
// test-mns-topic delivering to test-mns-queue).
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const RPCClient = require('@alicloud/pop-core').RPCClient;
const OpenApi = require('@alicloud/openapi-client');
const OpenApiUtil = require('@alicloud/openapi-util').default;
const Util = require('@alicloud/tea-util');
const MNS = require('@alicloud/mns');
const OSS = require('ali-oss');
const emulator = require('../emulator');

const credentials = { accessKeyId: emulator.accessKeyId, accessKeySecret: emulator.accessKeySecret };
const oss = new OSS({ ...credentials, endpoint: emulator.url, region: 'oss-cn-hangzhou',
                      bucket: 'test-bucket' });

function animation(uri) {
  return [{ Image: { Animations: [{ Format: 'webp', FrameRate: 15, Height: 0.5, Interval: 1, ScaleType: 'fit',
                                    URI: uri, Width: 0.5 }] } }];
}

// RIFF....WEBPVP8X with the animation flag: an animated WebP, not a still.
function assertAnimatedWebp(bytes) {
  assert.equal(bytes.subarray(0, 4).toString(), 'RIFF');
  assert.equal(bytes.subarray(8, 16).toString(), 'WEBPVP8X');
  assert.ok(bytes[20] & 0x02, 'the animation flag is set');
}

test('@alicloud/pop-core: the seed example, notified through MNS', async () => {
  const imm = new RPCClient({ ...credentials, endpoint: emulator.url, apiVersion: '2020-09-30' });
  const outputKey = `video-demo/${emulator.unique('pop-core')}/animation.{autoext}`;
  const created = await imm.request('CreateMediaConvertTask', {
    ProjectName: 'test-project',
    // RPC sends structures as JSON strings
    Notification: JSON.stringify({ MNS: { TopicName: 'test-mns-topic' } }),
    Sources: JSON.stringify([{ URI: 'oss://test-bucket/video-demo/brewing.mov' }]),
    Targets: JSON.stringify(animation(`oss://test-bucket/${outputKey}`)),
  }, { method: 'POST' });
  assert.match(created.TaskId, /\S/);
  const task = await emulator.poll(
    () => imm.request('GetTask', { ProjectName: 'test-project', TaskType: 'MediaConvert', TaskId: created.TaskId },
                      { method: 'POST' }),
    (t) => t.Status !== 'Running');
  assert.equal(task.Status, 'Succeeded', `${task.Code}: ${task.Message}`);
  const output = await oss.get(outputKey.replace('{autoext}', 'webp'));
  assertAnimatedWebp(output.content);

  const mns = new MNS(emulator.accountId, { ...credentials, endpoint: emulator.url });
  const message = await emulator.poll(async () => {
    const received = await mns.receiveMessage('test-mns-queue', 1).catch(() => null);
    if (!received) return null;
    await mns.deleteMessage('test-mns-queue', received.body.ReceiptHandle);
    const envelope = JSON.parse(received.body.MessageBody);
    return { ...envelope, content: JSON.parse(envelope.content) };  // the task, as a JSON string
  }, (m) => m && m.content.TaskId === created.TaskId, 30000);
  assert.equal(message.source, 'acs.imm');
  assert.equal(message.type, 'imm:Task:MediaConvert');
  assert.equal(message.content.Status, 'Succeeded');
});

test('@alicloud/pop-core: a bad request gets IMM\'s error code', async () => {
  const imm = new RPCClient({ ...credentials, endpoint: emulator.url, apiVersion: '2020-09-30' });
  await assert.rejects(
    imm.request('GetTask', { ProjectName: 'test-project', TaskType: 'MediaConvert', TaskId: 'no-such-task' },
                { method: 'POST' }),
    (err) => err.code === 'ResourceNotFound');
});

test('@alicloud/openapi-client: CreateMediaConvertTask through callApi (ACS3-HMAC-SHA256)', async () => {
  const client = new OpenApi.default(new OpenApi.Config({
    ...credentials, endpoint: new URL(emulator.url).host, protocol: 'http', regionId: 'cn-hangzhou' }));
  const call = (action, query) => client.callApi(
    new OpenApi.Params({ action, version: '2020-09-30', protocol: 'HTTP', pathname: '/', method: 'POST',
                         authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' }),
    new OpenApi.OpenApiRequest({ query: OpenApiUtil.query(query) }),
    new Util.RuntimeOptions({}));
  const outputKey = `video-demo/${emulator.unique('openapi')}/animation.{autoext}`;
  const created = await call('CreateMediaConvertTask', {
    ProjectName: 'test-project',
    Sources: JSON.stringify([{ URI: 'oss://test-bucket/video-demo/brewing.mov', StartTime: 5, Duration: 25 }]),
    Targets: JSON.stringify(animation(`oss://test-bucket/${outputKey}`)),
  });
  assert.equal(created.statusCode, 200);
  const taskId = created.body.TaskId;
  const task = await emulator.poll(
    async () => (await call('GetTask', { ProjectName: 'test-project', TaskType: 'MediaConvert', TaskId: taskId })).body,
    (t) => t.Status !== 'Running');
  assert.equal(task.Status, 'Succeeded', `${task.Code}: ${task.Message}`);
  assertAnimatedWebp((await oss.get(outputKey.replace('{autoext}', 'webp'))).content);
});
