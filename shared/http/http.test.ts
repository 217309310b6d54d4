import { describe, expect, it } from '@jest/globals';
import express from 'express';
import { closeServer, listen } from './http.js';

describe('listen', () => {
  it('keeps idle keep-alive sockets longer than HTTP clients do (no ECONNRESET on reuse)', async () => {
    const { server } = await listen(express(), '127.0.0.1', 0);
    try {
      expect(server.keepAliveTimeout).toBeGreaterThan(60_000);
      expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    } finally {
      await closeServer(server);
    }
  });
});
