// @alicloud/mns: queues and topics with the account's endpoint replaced by the emulator's.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const MNS = require('@alicloud/mns');
const emulator = require('../emulator');

const mns = new MNS(emulator.accountId, {
  accessKeyId: emulator.accessKeyId, accessKeySecret: emulator.accessKeySecret, endpoint: emulator.url });

test('@alicloud/mns: send, peek, receive, delete', async () => {
  const queue = emulator.unique('node-queue');
  await mns.createQueue(queue);
  await mns.sendMessage(queue, { MessageBody: 'hello from node' });
  const peeked = await mns.peekMessage(queue);
  assert.equal(peeked.body.MessageBody, 'hello from node');
  const received = await mns.receiveMessage(queue, 5);
  assert.equal(received.body.MessageBody, 'hello from node');
  await mns.deleteMessage(queue, received.body.ReceiptHandle);
  await assert.rejects(mns.receiveMessage(queue, 0), (err) => err.name === 'MNSMessageNotExistError');
  await mns.deleteQueue(queue);
});

test('@alicloud/mns: topics', async () => {
  const topic = emulator.unique('node-topic');
  await mns.createTopic(topic);
  const attrs = await mns.getTopicAttributes(topic);
  assert.equal(attrs.body.TopicName, topic);
  const published = await mns.publishMessage(topic, { MessageBody: 'to nobody' });
  assert.equal(published.code, 201);
  assert.match(published.body.MessageId, /\S/);
});
