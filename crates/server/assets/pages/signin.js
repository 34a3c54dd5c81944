// Sign in: tenant, e-mail and password. The answer sets the HttpOnly session cookie and
// carries the CSRF token the app sends with every change.

import { ApiError, post } from '../api.js';
import { alertBox, field, h } from '../dom.js';
import { t } from '../i18n.js';

export async function render(ctx) {
  const remembered = localStorage.getItem('tieout.tenant') || '';
  const tenant = h('input', { id: 'tenant', name: 'tenant', required: true, autocomplete: 'organization', value: remembered, autocapitalize: 'none' });
  const email = h('input', { id: 'email', name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const message = h('div', { class: 'message' });
  const submit = h('button', { type: 'submit', id: 'signin-submit' }, t('signin.submit'));
  const form = h(
    'form',
    { class: 'card signin', id: 'signin-form', novalidate: false },
    field(t('signin.tenant'), tenant, t('signin.tenant_hint')),
    field(t('signin.email'), email),
    field(t('signin.password'), password),
    message,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    submit.disabled = true;
    try {
      const answer = await post('/api/login', { tenant: tenant.value.trim(), email: email.value.trim(), password: password.value });
      localStorage.setItem('tieout.tenant', tenant.value.trim());
      await ctx.signedIn(answer);
      const next = ctx.params.get('next');
      ctx.go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  setTimeout(() => (remembered ? email : tenant).focus(), 0);
  return h('section', { class: 'signin-page' }, h('h1', { id: 'page-title', tabindex: '-1' }, t('signin.title')), h('p', { class: 'lead' }, t('signin.lead')), form);
}
