import { createContext, useContext } from 'react';
import type { CallpathApi } from '../../app/contract';

export const ApiContext = createContext<CallpathApi | null>(null);

export function useApi(): CallpathApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside <ApiContext.Provider>');
  return api;
}
