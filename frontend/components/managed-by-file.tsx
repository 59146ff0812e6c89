import { Alert, Pill } from "@/components/ui";

/** A resource applied from a configuration file: changed there, not in the console. */
export function ManagedBadge({ file }: { file: string | null }) {
  if (!file) return null;
  return (
    <Pill tone="violet" title={`Managed by the configuration file ${file}: change it there and apply it.`}>
      managed by file
    </Pill>
  );
}

export function ManagedNotice({ file }: { file: string | null }) {
  if (!file) return null;
  return (
    <Alert tone="info" title="Managed by a configuration file">
      This comes from <code>{file}</code>. Change it there and apply the file (<code>routerx config apply</code>); the console
      shows it read-only.
    </Alert>
  );
}
