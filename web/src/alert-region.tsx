import { clearReport, notice } from './report';
import { useStore } from './use-store';

/** The page's one alert region (report.ts): always in the page, so that screen readers announce what appears in it. */
export function AlertRegion() {
  const shown = useStore(notice);
  return (
    <div id="alert" role="alert" class={shown?.tone} hidden={!shown}>
      {shown && (
        <>
          <p>{shown.message}</p>
          {shown.extra}
          <button type="button" class="dismiss" onClick={clearReport}>
            Dismiss
          </button>
        </>
      )}
    </div>
  );
}
