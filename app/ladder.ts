export * from '../engine/ladder/model';
