"use client";

import { useState, type FormEvent } from "react";
import { api, errorMessage } from "@/lib/api/client";
import { useApi } from "@/lib/use-api";
import { useSession } from "@/lib/session";
import type { Page, Role, User } from "@/lib/api/types";
import { Alert, Card, EmptyState, Loadable, NO_ERRORS, PageHeader, Pill, SelectField, TextField, formErrorsFrom, type FormErrors } from "@/components/ui";
import { formatDateTime } from "@/lib/format";
import { paramIn } from "@/lib/forms";
import { FormStatus, IDLE, type SaveState } from "@/components/form-status";

function NewUserForm({ onCreated }: { onCreated: (user: User) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const user = await api.post<User>("/users", { username: username.trim(), password, role });
      setUsername("");
      setPassword("");
      onCreated(user);
    } catch (err) {
      setErrors(formErrorsFrom(err, paramIn(["username", "password", "role"])));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" noValidate onSubmit={(e) => void submit(e)} aria-label="New user">
      {errors.form ? <Alert tone="error" title="User not created">{errors.form}</Alert> : null}
      <div className="form-grid-3">
        <TextField label="New username" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} error={errors.fields.username} required />
        <TextField label="Initial password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.fields.password} hint="At least 12 characters, not a known default." required />
        <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} error={errors.fields.role}>
          <option value="viewer">viewer (read-only)</option>
          <option value="admin">admin</option>
        </SelectField>
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy || !username.trim() || !password}>
          {busy ? "Creating…" : "Create user"}
        </button>
      </div>
    </form>
  );
}

function UserRow({ user, self, onChanged }: { user: User; self: boolean; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const [settingPassword, setSettingPassword] = useState(false);
  const [newPassword, setNewPassword] = useState("");
  const [passwordState, setPasswordState] = useState<SaveState>(IDLE);
  const savePassword = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setPasswordState(IDLE);
    try {
      await api.post(`/users/${user.id}/password`, { password: newPassword });
      setNewPassword("");
      setPasswordState({ kind: "saved", text: `Saved. ${user.username} signs in with the new password from now on.` });
      onChanged();
    } catch (err) {
      const mapped = formErrorsFrom(err, paramIn(["password"]));
      setPasswordState({ kind: "error", text: mapped.fields.password ?? mapped.form ?? "Not saved." });
    } finally {
      setBusy(false);
    }
  };
  const remove = () => {
    if (window.confirm(`Delete user ${user.username}?`)) void act(() => api.delete(`/users/${user.id}`));
  };
  return (
    <>
    <tr>
      <td className="strong">
        {user.username} {self ? <span className="muted">(you)</span> : null}
      </td>
      <td>
        {self ? (
          <Pill tone={user.role === "admin" ? "violet" : "gray"}>{user.role}</Pill>
        ) : (
          <select
            className="input"
            style={{ width: 120, height: 30 }}
            aria-label={`Role of ${user.username}`}
            value={user.role}
            disabled={busy}
            onChange={(e) => void act(() => api.patch(`/users/${user.id}`, { role: e.target.value }))}
          >
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        )}
      </td>
      <td>{user.disabled ? <Pill tone="gray">disabled</Pill> : <Pill tone="green">active</Pill>}</td>
      <td className="nowrap muted">{formatDateTime(user.created_at)}</td>
      <td className="nowrap muted">{formatDateTime(user.password_changed_at)}</td>
      <td className="actions">
        {error ? <span className="field-error" role="alert">{error}</span> : null}
        {!self ? (
          <>
            <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act(() => api.post(`/users/${user.id}/${user.disabled ? "enable" : "disable"}`))}>
              {user.disabled ? "Enable" : "Disable"}
            </button>
            <button type="button" className="btn btn-small" disabled={busy} aria-expanded={settingPassword} onClick={() => { setSettingPassword((open) => !open); setPasswordState(IDLE); }}>
              Set password
            </button>
            <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={remove} aria-label={`Delete user ${user.username}`}>
              Delete
            </button>
          </>
        ) : null}
      </td>
    </tr>
    {settingPassword ? (
      <tr>
        <td colSpan={6}>
          <form className="inline password-form" noValidate onSubmit={(e) => void savePassword(e)} aria-label={`New password for ${user.username}`}>
            <TextField label={`New password for ${user.username}`} type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNewPassword(e.target.value)} hint="At least 8 characters." />
            <FormStatus state={passwordState} />
            <button type="button" className="btn btn-small" onClick={() => setSettingPassword(false)}>
              Close
            </button>
            <button type="submit" className="btn btn-small btn-primary" disabled={busy || !newPassword}>
              Save password
            </button>
          </form>
        </td>
      </tr>
    ) : null}
    </>
  );
}

export default function UsersPage() {
  const { me } = useSession();
  const isAdmin = me.role === "admin";
  const users = useApi<Page<User>>(isAdmin ? "/users" : null, { limit: 200 });
  const [created, setCreated] = useState<User | null>(null);
  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Users" />
        <Alert tone="info" title="Admins only">
          Only an admin can see and manage console users.
        </Alert>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Users" description="Who can sign in to the console. Viewers see everything and change nothing." />
      <div className="stack">
        <Card title="New user">
          {created ? (
            <div style={{ marginBottom: 12 }}>
              <Alert tone="success">
                User {created.username} created as {created.role}.
              </Alert>
            </div>
          ) : null}
          <NewUserForm
            onCreated={(u) => {
              setCreated(u);
              users.reload();
            }}
          />
        </Card>
        <Card className="card-flush">
          <Loadable {...users} empty={(page) => (page.data.length === 0 ? <EmptyState title="No users" /> : null)}>
            {(page) => (
              <div className="table-wrap">
                <table className="table" aria-label="Users">
                  <thead>
                    <tr>
                      <th>Username</th>
                      <th>Role</th>
                      <th>Status</th>
                      <th>Created</th>
                      <th>Password changed</th>
                      <th className="actions">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((u) => (
                      <UserRow key={u.id} user={u} self={u.id === me.id} onChanged={users.reload} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Loadable>
        </Card>
      </div>
    </>
  );
}
