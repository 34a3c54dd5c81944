// Settings, for admins (the server refuses everyone else anyway): organisations and
// stores, users with their roles and scopes, and the payout ↔ receipt matching rules
// (checked by the server; an error names its line and column and shows under the editor).

import { ApiError, ROLES, api, get, post } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { clearEditorError, showEditorError } from '../editor.js';
import { t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

/** A form that posts, shows the problem's detail on failure, and redraws on success. */
function actionForm(id, title, controls, submitText, action, ctx) {
  const message = h('div', { class: 'message' });
  const form = h('form', { class: 'card', id }, h('h3', {}, title), h('div', { class: 'row' }, controls), h('div', { class: 'actions' }, h('button', { type: 'submit' }, submitText)), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      await action();
      ctx.announce(t('settings.saved'));
      await ctx.reloadStores();
      ctx.go(location.pathname + location.search, { replace: true });
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    }
  });
  return form;
}

function organisationsSection(ctx, organisations, stores) {
  const name = (id) => organisations.find((o) => o.id === id)?.name || '—';
  const table = dataTable(
    [
      { key: 'name', label: t('col.organisation') },
      { key: 'parent_id', label: t('settings.parent'), cell: (o) => (o.parent_id ? name(o.parent_id) : '—') },
      { key: 'stores', label: t('settings.stores'), sortable: false, cell: (o) => stores.filter((s) => s.organisation_id === o.id).map((s) => s.name).join(', ') || '—' },
    ],
    organisations,
    { caption: t('settings.organisations'), id: 'organisations' },
  );
  const orgOptions = organisations.map((o) => [String(o.id), o.name]);
  const orgName = h('input', { id: 'org-name', name: 'name', required: true });
  const orgParent = select({ id: 'org-parent', name: 'parent_id' }, [['', t('settings.no_parent')], ...orgOptions], '');
  const storeName = h('input', { id: 'store-name', name: 'name', required: true, autocomplete: 'off' });
  const storeOrg = select({ id: 'store-organisation', name: 'organisation_id', required: true }, orgOptions, orgOptions[0]?.[0]);
  return h(
    'section',
    { class: 'settings-section', id: 'settings-stores' },
    h('h2', {}, t('settings.organisations_title')),
    scroller(table, t('settings.organisations')),
    h(
      'div',
      { class: 'two' },
      actionForm('add-organisation', t('settings.add_organisation'), [field(t('col.name'), orgName), field(t('settings.parent'), orgParent)], t('action.add'), () => post('/api/organisations', { name: orgName.value.trim(), parent_id: orgParent.value ? Number(orgParent.value) : null }), ctx),
      organisations.length
        ? actionForm('add-store', t('settings.add_store'), [field(t('col.name'), storeName, t('settings.store_hint')), field(t('col.organisation'), storeOrg)], t('action.add'), () => post('/api/stores', { name: storeName.value.trim(), organisation_id: Number(storeOrg.value) }), ctx)
        : h('p', { class: 'hint card' }, t('settings.organisation_first')),
    ),
  );
}

function usersSection(ctx, users, organisations, stores) {
  const roleOptions = ROLES.map((r) => [r, t(`role.${r}`)]);
  const table = dataTable(
    [
      { key: 'email', label: t('col.email') },
      { key: 'display_name', label: t('col.name') },
      {
        key: 'role',
        label: t('col.role'),
        cell: (u) => {
          const control = select({ id: `role-${u.id}`, name: 'role', dataset: { user: u.id } }, roleOptions, u.role);
          return [h('label', { for: control.id, class: 'visually-hidden' }, t('settings.role_of', { user: u.email })), control];
        },
      },
      {
        key: 'disabled',
        label: t('settings.disabled'),
        cell: (u) => {
          const control = h('input', { type: 'checkbox', id: `disabled-${u.id}`, name: 'disabled', checked: u.disabled });
          return [h('label', { for: control.id, class: 'visually-hidden' }, t('settings.disabled_of', { user: u.email })), control];
        },
      },
      {
        key: 'save',
        label: t('col.actions'),
        sortable: false,
        cell: (u) =>
          h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              id: `save-user-${u.id}`,
              onclick: async (event) => {
                const row = event.target.closest('tr');
                try {
                  await api(`/api/users/${u.id}`, { method: 'PATCH', body: { role: row.querySelector('select[name=role]').value, disabled: row.querySelector('input[name=disabled]').checked } });
                  ctx.announce(t('settings.saved'));
                  ctx.go(location.pathname + location.search, { replace: true });
                } catch (error) {
                  row.after(h('tr', {}, h('td', { colspan: '5' }, alertBox(error.message))));
                }
              },
            },
            t('action.save'),
          ),
      },
    ],
    users,
    { caption: t('settings.users'), id: 'users' },
  );
  const email = h('input', { id: 'user-email', name: 'email', type: 'email', required: true, autocomplete: 'off' });
  const displayName = h('input', { id: 'user-name', name: 'display_name', required: true });
  const role = select({ id: 'user-role', name: 'role' }, roleOptions, 'viewer');
  const password = h('input', { id: 'user-password', name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: '12' });
  const scopeUser = select({ id: 'scope-user', name: 'user' }, users.map((u) => [String(u.id), u.email]), users[0]?.id);
  const scopeOrganisations = select({ id: 'scope-organisations', name: 'organisations', multiple: true, size: '4' }, organisations.map((o) => [String(o.id), o.name]), null);
  const scopeStores = select({ id: 'scope-stores', name: 'stores', multiple: true, size: '4' }, stores.map((s) => [String(s.id), s.name]), null);
  const chosen = (control) => [...control.selectedOptions].map((o) => Number(o.value));
  return h(
    'section',
    { class: 'settings-section', id: 'settings-users' },
    h('h2', {}, t('settings.users_title')),
    h('p', { class: 'hint' }, t('settings.roles_hint')),
    scroller(table, t('settings.users')),
    h(
      'div',
      { class: 'two' },
      actionForm(
        'add-user',
        t('settings.add_user'),
        [field(t('col.email'), email), field(t('col.name'), displayName), field(t('col.role'), role), field(t('settings.password'), password, t('settings.password_hint'))],
        t('action.add'),
        () => post('/api/users', { email: email.value.trim(), display_name: displayName.value.trim(), role: role.value, password: password.value }),
        ctx,
      ),
      actionForm(
        'user-scope',
        t('settings.scope_title'),
        [field(t('settings.user'), scopeUser), field(t('settings.organisations'), scopeOrganisations), field(t('settings.stores'), scopeStores, t('settings.scope_hint'))],
        t('action.save'),
        () => api(`/api/users/${scopeUser.value}`, { method: 'PATCH', body: { organisations: chosen(scopeOrganisations), stores: chosen(scopeStores) } }),
        ctx,
      ),
    ),
  );
}

function rulesSection(ctx, rules) {
  const editor = h('textarea', { id: 'rules-text', name: 'rules', rows: '18', spellcheck: 'false', class: 'code', 'aria-describedby': 'rules-hint rules-error' }, rules.text);
  const error = h('div', { id: 'rules-error', class: 'message' });
  const origin = h('p', { class: 'hint', id: 'rules-hint' }, rules.built_in ? t('settings.rules_built_in') : t('settings.rules_own'));
  const form = h(
    'form',
    { class: 'card', id: 'rules-form' },
    h('label', { for: 'rules-text' }, t('settings.rules_label')),
    origin,
    editor,
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'save-rules' }, t('settings.rules_save'))),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearEditorError(editor, error);
    try {
      await api('/api/rules', { method: 'PUT', body: { text: editor.value } });
      error.append(h('p', { class: 'ok', role: 'status' }, t('settings.rules_saved')));
      origin.textContent = t('settings.rules_own');
    } catch (problem) {
      // "rules.toml:2:6: error: …": said in the user's words, the cursor put there.
      showEditorError(editor, error, problem);
    }
  });
  return h('section', { class: 'settings-section', id: 'settings-rules' }, h('h2', {}, t('settings.rules_title')), form);
}

export async function render(ctx) {
  const [organisations, stores, users, rules] = await Promise.all([get('/api/organisations'), get('/api/stores'), get('/api/users'), get('/api/rules')]);
  return h(
    'section',
    { class: 'settings-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, t('settings.title')),
    organisationsSection(ctx, organisations.items, stores.items),
    usersSection(ctx, users.items, organisations.items, stores.items),
    rulesSection(ctx, rules),
  );
}
