// Starts the example on PORT (default 4000): `npm start`, with the auth server's variables in the environment.
const { buildApp } = require('./app');

buildApp().then(({ app, close }) => {
  const port = Number(process.env.PORT || 4000);
  const server = app.listen(port, '127.0.0.1', () => console.log(`example app on http://127.0.0.1:${port} (auth at /auth)`));
  process.once('SIGTERM', () => server.close(() => void close()));
});
