// A panva oidc-provider (OpenID Certified) for authflow's interop test.
// Development interactions: any login/password is accepted and the login
// is the account id. Prints "LISTENING <port>" once ready.
// Env: REDIRECT_URI, POST_LOGOUT_URI, ACCOUNTS (JSON {login: {email, email_verified, name}}).
import http from 'node:http';
import Provider from 'oidc-provider';

const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'app',
      client_secret: 'app-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    async findAccount(ctx, id) {
      const a = accounts[id];
      if (!a) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...a }; } };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ['invitekit-test-cookie-key'] },
  });
  server.on('request', provider.callback());
  console.log(`LISTENING ${port}`);
});
