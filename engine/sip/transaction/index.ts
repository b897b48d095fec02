/** RFC 3261 §17 transaction layer: state machines, timers, matching and the live table. */
export * from './timers';
export * from './timer-host';
export * from './machine';
export * from './branch';
export * from './transaction-table';
export * from './linger-table';
export * from './invite-client';
export * from './non-invite-client';
export * from './invite-server';
export * from './non-invite-server';
