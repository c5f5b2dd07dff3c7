// ali-oss with V1 and V4 signatures: bucket, put, get, head, list, delete. (signatureUrl refuses
// an IP endpoint, so presigned URLs are left to the Python SDKs.)
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const OSS = require('ali-oss');
const emulator = require('../emulator');

function client(bucket, v4) {
  return new OSS({
    accessKeyId: emulator.accessKeyId,
    accessKeySecret: emulator.accessKeySecret,
    // An IP endpoint: ali-oss then sends /key with `Host: <bucket>.<region>.aliyuncs.com`,
    // which the emulator reads as a virtual-hosted bucket.
    endpoint: emulator.url,
    region: 'oss-cn-hangzhou',  // that Host name, and V4 signs with "cn-hangzhou"
    authorizationV4: v4,
    bucket,
  });
}

for (const v4 of [false, true]) {
  test(`ali-oss ${v4 ? 'V4' : 'V1'}: objects round-trip`, async () => {
    const name = emulator.unique(v4 ? 'node-v4' : 'node-v1');
    const oss = client(name, v4);
    await oss.putBucket(name);
    const put = await oss.put('dir/hello.txt', Buffer.from('hello from node'), {
      headers: { 'Content-Type': 'text/plain' }, meta: { origin: 'node' } });
    assert.equal(put.res.status, 200);
    const got = await oss.get('dir/hello.txt');
    assert.equal(got.content.toString(), 'hello from node');
    const head = await oss.head('dir/hello.txt');
    assert.equal(head.meta.origin, 'node');
    assert.equal(head.res.headers['content-type'], 'text/plain');
    const listed = await oss.listV2({ prefix: 'dir/' });
    assert.deepEqual(listed.objects.map((o) => o.name), ['dir/hello.txt']);
    await oss.delete('dir/hello.txt');
    await assert.rejects(oss.get('dir/hello.txt'), (err) => err.code === 'NoSuchKey' && err.status === 404);
    await oss.deleteBucket(name);
  });
}

test('ali-oss: a wrong secret is refused with SignatureDoesNotMatch', async () => {
  // The bucket exists: OSS answers NoSuchBucket for a missing one before it checks the signature.
  const name = emulator.unique('node-secret');
  await client(name, false).putBucket(name);
  const oss = new OSS({ accessKeyId: emulator.accessKeyId, accessKeySecret: 'wrong', endpoint: emulator.url,
                        region: 'oss-cn-hangzhou', bucket: name });
  await assert.rejects(oss.put('k', Buffer.from('x')), (err) => err.code === 'SignatureDoesNotMatch' && err.status === 403);
  await assert.rejects(client(name, false).head('k'), (err) => err.status === 404);  // nothing was stored
  await client(name, false).deleteBucket(name);
});
