/**
 * The ceiling the suite compares against: a bare Fastify server answering `{ ok: true }`, started in
 * its own process like the server under test. Prints its port on stdout.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', () => ({ ok: true }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ ready: true, url: address }));
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
