import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { apiFromTransport, type CallpathApi, type ContractTransport } from '../../app/contract';
import { createWsTransport, wsUrlFromLocation } from '../../app/ws-transport';
import { ApiContext } from './api';
import { App } from './App';
import { startCallsQuery } from './store/callsQuery';
import { startLive } from './store/live';
import './styles.css';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a lab browser. */
    callpathBridge?: ContractTransport;
  }
}

const api: CallpathApi = window.callpathBridge
  ? apiFromTransport(window.callpathBridge)
  : apiFromTransport(createWsTransport(wsUrlFromLocation(window.location)));

startLive(api);
startCallsQuery(api);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <ApiContext.Provider value={api}>
      <App />
    </ApiContext.Provider>
  </StrictMode>,
);
