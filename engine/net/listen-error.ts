/** One line for a socket that could not be opened, for a component's start failure. */
export function listenErrorText(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return 'address in use';
  if (err.code === 'EADDRNOTAVAIL') return 'address not available on this host';
  return err.message;
}
